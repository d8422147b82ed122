import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { BreakerState } from '../client/internal-client.types';
import { InternalHttpClient } from '../client/internal-http-client';
import { type HealthCheck, HEALTH_CHECKS } from './health-check';
import { HealthController } from './health.controller';
import { HealthModule } from './health.module';
import { createHttpAdapter, HTTP_ADAPTERS } from '../http/http-adapter';

/** Stands in for the client: only what health reads (breaker states), set by each test. */
class BreakerBoard {
  readonly states = new Map<string, BreakerState>([
    ['billing', 'closed'],
    ['filesystem', 'closed'],
  ]);
  upstreamNames(): string[] {
    return [...this.states.keys()];
  }
  breakerState(upstream: string): BreakerState {
    return this.states.get(upstream) ?? 'closed';
  }
}

describe.each(HTTP_ADAPTERS)(`${HealthController.name} on %s`, (adapter) => {
  const board = new BreakerBoard();
  let databaseUp = true;
  let app: INestApplication;
  let url: string;

  const get = async (path: string) => {
    const response = await fetch(`${url}${path}`);
    return { status: response.status, body: (await response.json()) as unknown };
  };

  beforeAll(async () => {
    const checks: HealthCheck[] = [
      {
        name: 'database',
        check: async () => {
          if (!databaseUp) throw new Error('connection refused: secret-host:5432');
        },
      },
    ];
    const moduleRef = await Test.createTestingModule({
      imports: [HealthModule],
      controllers: [HealthController],
      providers: [
        { provide: HEALTH_CHECKS, useValue: checks },
        { provide: InternalHttpClient, useValue: board },
      ],
    }).compile();
    app = moduleRef.createNestApplication(await createHttpAdapter(adapter), { logger: false });
    await app.listen(0, '127.0.0.1');
    url = await app.getUrl();
  });

  afterAll(() => app.close());

  afterEach(() => {
    databaseUp = true;
    for (const name of board.states.keys()) board.states.set(name, 'closed');
  });

  it('is live and ready when the database is up and no breaker is open', async () => {
    expect(await get('/health/live')).toEqual({
      status: 200,
      body: { status: 'ok', info: {}, error: {}, details: {} },
    });
    expect(await get('/health/ready')).toMatchObject({
      status: 200,
      body: {
        status: 'ok',
        details: {
          database: { status: 'up' },
          billing: { status: 'up', breaker: 'closed' },
          filesystem: { status: 'up', breaker: 'closed' },
        },
      },
    });
    expect(await get('/health')).toEqual({
      status: 200,
      body: { status: 'ok', checks: { database: 'up', billing: 'up', filesystem: 'up' } },
    });
  });

  it("is not ready while an upstream's breaker is open, and stays live", async () => {
    board.states.set('billing', 'open');
    expect(await get('/health/ready')).toMatchObject({
      status: 503,
      body: {
        status: 'error',
        error: { billing: { status: 'down', breaker: 'open' } },
        info: { database: { status: 'up' }, filesystem: { status: 'up', breaker: 'closed' } },
      },
    });
    expect(await get('/health')).toEqual({
      status: 503,
      body: {
        status: 'unavailable',
        checks: { database: 'up', billing: 'down', filesystem: 'up' },
      },
    });
    expect((await get('/health/live')).status).toBe(200);
  });

  it('is ready while a breaker is half-open: its trial call needs traffic', async () => {
    board.states.set('filesystem', 'half_open');
    expect(await get('/health/ready')).toMatchObject({
      status: 200,
      body: { details: { filesystem: { status: 'up', breaker: 'half_open' } } },
    });
  });

  it('is not ready when the database is down, and never says why', async () => {
    databaseUp = false;
    const ready = await get('/health/ready');
    expect(ready).toMatchObject({
      status: 503,
      body: { error: { database: { status: 'down' } } },
    });
    expect(JSON.stringify(ready.body)).not.toContain('secret-host');
    expect((await get('/health/live')).status).toBe(200);
  });
});
