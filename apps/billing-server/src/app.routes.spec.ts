import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  generateToken,
  internalOnlyRouteNames,
  publicRouteNames,
  readMetric,
  request,
  routesOpenWithoutCredential,
  scrapeRouteProbe,
  routesWithoutScopes,
  serviceDocsExposed,
} from '@zt/test-kit';
import { AppModule } from './app.module';
import { loadBillingConfig } from './config/billing.config';

describe('billing-server route inventory', () => {
  const token = generateToken();
  const metricsToken = generateToken();
  let app: INestApplication;

  beforeAll(async () => {
    const config = loadBillingConfig({
      INTERNAL_SERVICE_TOKEN: token,
      METRICS_TOKEN: metricsToken,
      BILLING_SERVER_PORT: '0',
      LOG_LEVEL: 'silent',
    });
    const moduleRef = await Test.createTestingModule({
      imports: [AppModule.forRoot(config, { embeddedDirectory: null })],
    }).compile();
    app = moduleRef.createNestApplication({ bodyParser: false, logger: false });
    await app.listen(0, '127.0.0.1');
  });

  afterAll(() => app?.close());

  it('declares exactly the intended public routes (adding one is a security decision)', () => {
    expect(publicRouteNames(app)).toEqual(['GET /health', 'GET /health/live', 'GET /health/ready']);
    expect(internalOnlyRouteNames(app)).toEqual(['GET /metrics']);
  });

  it('declares the scopes every internal route accepts (service identity, DESIGN section 9)', () => {
    expect(routesWithoutScopes(app)).toEqual([]);
  });

  it('refuses every other route without the internal credential', async () => {
    expect(await routesOpenWithoutCredential(app)).toEqual([]);
  });

  it('refuses GET /metrics with 401 without the scrape credential, the internal token included', async () => {
    expect(await routesOpenWithoutCredential(app, scrapeRouteProbe(token))).toEqual([]);
  });

  it('answers its public routes without a credential', async () => {
    const url = await app.getUrl();
    expect(await request(`${url}/health`)).toMatchObject({
      status: 200,
      body: { status: 'ok', checks: { database: 'up' } },
    });
    expect(await request(`${url}/health/live`)).toMatchObject({
      status: 200,
      body: { status: 'ok', details: {} },
    });
    expect(await request(`${url}/health/ready`)).toMatchObject({
      status: 200,
      body: { status: 'ok', details: { database: { status: 'up' } } },
    });
  });

  it('serves metrics to the scrape credential only, counting refusals and ledger operations', async () => {
    const url = await app.getUrl();
    const scrape = async () => {
      const response = await request(`${url}/metrics`, {
        headers: { Authorization: `Bearer ${metricsToken}` },
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/plain');
      return response.body as string;
    };
    const before = await scrape();

    expect(await request(`${url}/metrics`)).toMatchObject({
      status: 401,
      body: { error: 'unauthorized' },
    });
    const after = await scrape();

    const denied = { reason: 'bearer_missing', service: 'billing-server' };
    expect(readMetric(after, 'internal_auth_denied_total', denied)).toBe(
      (readMetric(before, 'internal_auth_denied_total', denied) ?? 0) + 1,
    );
    expect(
      readMetric(after, 'billing_ledger_operations_total', { kind: 'deduct', result: 'applied' }),
    ).toBe(0);
    expect(
      readMetric(after, 'http_request_duration_seconds_count', {
        method: 'GET',
        route: '/metrics',
        status_code: '200',
      }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('counts its database round trips: one for a deduct', async () => {
    const url = await app.getUrl();
    const roundTrips = async () => {
      const response = await request(`${url}/metrics`, {
        headers: { Authorization: `Bearer ${metricsToken}` },
      });
      return readMetric(response.body as string, 'billing_database_round_trips_total', {}) ?? -1;
    };
    const before = await roundTrips();
    expect(before).toBeGreaterThan(0); // the migrations, at least
    const deduct = await request(`${url}/deduct`, {
      method: 'POST',
      headers: { 'X-INTERNAL-TOKEN': token },
      json: { user_id: 'metric-nobody', amount: 1 },
    });
    expect(deduct.status).toBe(404);
    expect(await roundTrips()).toBe(before + 1);
  });

  it('serves no API docs on its port', async () => {
    expect(await serviceDocsExposed(app)).toEqual([]);
  });
});
