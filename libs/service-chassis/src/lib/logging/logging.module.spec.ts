import { Controller, type DynamicModule, Get, Logger, Module, Post } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { InternalAuthModule } from '@zt/service-utils';
import { Public } from '@zt/service-utils';
import { InternalClientModule } from '../client/internal-client.module';
import { InternalHttpClient } from '../client/internal-http-client';
import { loadServiceConfig } from '../config/service.config';
import { DependencyUnavailableError } from '../http/dependency-unavailable.error';
import { createServiceApp } from '../http/run-service';
import { JsonBody } from '../http/json-body.decorator';
import { ServiceHttpModule } from '../http/service-http.module';
import { LoggingModule } from './logging.module';
import { currentRequestId } from './request-context';
import { __resetOutOfContextForTests } from 'nestjs-pino/PinoLogger';
import { z } from 'zod';
import { defineEndpoint } from '@zt/contracts';
import { HTTP_ADAPTERS } from '../http/http-adapter';

const TOKEN = 'q3V9sLk2Xw8RzT1mN6pB4yH7cJ0dF5gA';
const PASSWORD = 'correct-horse-battery-staple-42';
const BEARER = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJlLXRoYXQtaXMtc2VjcmV0';

/** An upstream route whose contract declares no 429: the upstream's limit answers one anyway. */
const limitedRoute = defineEndpoint({
  method: 'GET',
  path: '/limited',
  summary: 'probe',
  answers: [{ status: 200, kind: 'ok', body: z.object({}), description: 'served' }],
});

@Controller()
class ProbeController {
  private readonly logger = new Logger(ProbeController.name);

  constructor(private readonly client: InternalHttpClient) {}

  @Get('work')
  async work(): Promise<Record<string, unknown>> {
    this.logger.log({ event: 'work_started' });
    const upstream = await this.client.request<{ seen: string }>('echo', {
      method: 'GET',
      path: '/echo',
    });
    return { request_id: currentRequestId(), upstream_saw: upstream.data.seen };
  }

  @Public()
  @Post('login')
  login(@JsonBody(z.record(z.unknown())) body: Record<string, unknown>): Record<string, unknown> {
    return { received: Object.keys(body).sort() };
  }

  @Public()
  @Get('feed')
  feed(): Record<string, unknown> {
    return { items: [] };
  }

  @Public()
  @Post('feed')
  addToFeed(): Record<string, unknown> {
    return { added: true };
  }

  @Public()
  @Get('boom')
  boom(): never {
    throw new Error('something broke');
  }

  @Public()
  @Get('outage')
  outage(): never {
    throw new DependencyUnavailableError('database', 'ECONNREFUSED');
  }

  @Public()
  @Get('limited')
  async limited(): Promise<void> {
    await this.client.call('echo', limitedRoute);
  }
}

@Module({})
class ProbeModule {
  static forRoot(lines: string[], upstreamUrl: string): DynamicModule {
    const service = loadServiceConfig(
      { LOG_FORMAT: 'json', LOG_LEVEL: 'info' },
      { name: 'probe-service', portVariable: 'PROBE_PORT', defaultPort: 0 },
    );
    return {
      module: ProbeModule,
      imports: [
        LoggingModule.forRoot({
          service,
          polledPaths: ['/feed'],
          destination: new Writable({
            write(chunk: Buffer, _encoding, done) {
              lines.push(chunk.toString('utf8'));
              done();
            },
          }),
        }),
        InternalAuthModule.forRoot({ sendToken: TOKEN, acceptedTokens: [TOKEN] }),
        InternalClientModule.forRoot({
          callerName: 'probe-service',
          upstreams: { echo: { baseUrl: upstreamUrl } },
          client: {
            timeoutMs: 2000,
            retries: 0,
            breakerResetMs: 1000,
            breakerErrorThresholdPercent: 50,
            breakerVolumeThreshold: 5,
          },
          internalAuth: { sendToken: TOKEN, acceptedTokens: [TOKEN] },
        }),
        ServiceHttpModule.forRoot({ maxJsonBodyBytes: 64 * 1024 }),
      ],
      controllers: [ProbeController],
    };
  }
}

type LogLine = Record<string, unknown> & { msg?: string; request_id?: string; event?: string };

describe.each(HTTP_ADAPTERS)(`${LoggingModule.name} on %s`, (adapter) => {
  const lines: string[] = [];
  const upstreamSaw: IncomingHttpHeaders[] = [];
  let upstream: Server;
  let app: INestApplication;
  let url: string;

  const logged = (): LogLine[] => lines.map((line) => JSON.parse(line) as LogLine);
  const linesOf = (requestId: string) => logged().filter((line) => line.request_id === requestId);

  beforeAll(async () => {
    upstream = createServer((request, response) => {
      upstreamSaw.push(request.headers);
      if (request.url === '/limited') {
        response.writeHead(429, { 'content-type': 'application/json', 'retry-after': '3' });
        response.end(JSON.stringify({ error: 'too many requests' }));
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ seen: request.headers['x-request-id'] ?? null }));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    // nestjs-pino keeps the first application's logger for lines outside of a request, for
    // the whole process; each adapter's application here is a new one.
    __resetOutOfContextForTests();
    const port = (upstream.address() as AddressInfo).port;
    app = await createServiceApp({
      service: loadServiceConfig(
        { HTTP_ADAPTER: adapter },
        { name: 'probe-service', portVariable: 'P', defaultPort: 0 },
      ),
      module: ProbeModule.forRoot(lines, `http://127.0.0.1:${port}`),
    });
    await app.listen(0, '127.0.0.1');
    url = await app.getUrl();
  });

  afterAll(async () => {
    await app?.close();
    upstream.closeAllConnections();
    await new Promise((resolve) => upstream.close(resolve));
  });

  it('writes Nest log lines as JSON with the event fields at the top level', () => {
    new Logger('ProbeContext').log({ event: 'probe_event', detail: 7 });
    expect(logged()).toContainEqual(
      expect.objectContaining({
        level: 'info',
        service: 'probe-service',
        context: 'ProbeContext',
        event: 'probe_event',
        detail: 7,
      }),
    );
  });

  it('writes the success of a polled GET at debug only, and a POST to the same path as usual', async () => {
    const polled = await fetch(`${url}/feed?after=1`, { headers: { 'x-request-id': 'poll-1' } });
    const added = await fetch(`${url}/feed`, {
      method: 'POST',
      headers: { 'x-request-id': 'post-1' },
    });
    expect([polled.status, added.status]).toEqual([200, 201]);
    // The line of a request is written when its answer is; the GET's would come before the
    // POST's, so once the POST's is there, the GET's absence is final (no guessed wait).
    const completed = () => linesOf('post-1').filter((line) => line.msg === 'request completed');
    for (let turn = 0; completed().length === 0 && turn < 200; turn += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(completed()).toEqual([expect.objectContaining({ level: 'info' })]);
    expect(linesOf('poll-1')).toEqual([]);
  });

  it("keeps Nest's own boot lines (routes mapped, modules loaded) out of the info level", () => {
    const contexts = logged().map((line) => line['context']);
    expect(contexts).not.toContain('RoutesResolver');
    expect(contexts).not.toContain('InstanceLoader');
  });

  it('keeps a valid X-Request-ID, echoes it, logs it on every line and sends it upstream', async () => {
    const response = await fetch(`${url}/work`, {
      headers: { 'X-INTERNAL-TOKEN': TOKEN, 'X-Request-ID': 'user-action-42' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('user-action-42');
    expect(await response.json()).toEqual({
      request_id: 'user-action-42',
      upstream_saw: 'user-action-42',
    });

    const own = linesOf('user-action-42');
    expect(own).toContainEqual(
      expect.objectContaining({ event: 'work_started', context: 'ProbeController' }),
    );
    expect(own).toContainEqual(
      expect.objectContaining({
        msg: 'request completed',
        req: expect.objectContaining({ method: 'GET', url: '/work', route: '/work' }),
        res: { status_code: 200 },
      }),
    );
  });

  it('gives a request without a usable id a new one, and uses it the same way', async () => {
    const response = await fetch(`${url}/work`, {
      headers: { 'X-INTERNAL-TOKEN': TOKEN, 'X-Request-ID': 'not valid: spaces' },
    });
    const id = response.headers.get('x-request-id') ?? '';
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(((await response.json()) as { upstream_saw: string }).upstream_saw).toBe(id);
    expect(linesOf(id).map((line) => line.event ?? line.msg)).toEqual([
      'work_started',
      'request completed',
    ]);
  });

  it('logs a refusal with the request id, and the secrets of no request at all', async () => {
    const refused = await fetch(`${url}/work?token=${TOKEN}`, {
      headers: {
        'X-INTERNAL-TOKEN': TOKEN.replace('q', 'Q'),
        Authorization: `Bearer ${BEARER}`,
        Cookie: `session=${BEARER}`,
      },
    });
    expect(refused.status).toBe(403);
    const id = refused.headers.get('x-request-id') ?? '';
    expect(linesOf(id)).toContainEqual(
      expect.objectContaining({ event: 'internal_auth_denied', reason: 'mismatch' }),
    );

    const login = await fetch(`${url}/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-INTERNAL-TOKEN': TOKEN },
      body: JSON.stringify({ email: 'a@example.com', password: PASSWORD, token: BEARER }),
    });
    expect(await login.json()).toEqual({ received: ['email', 'password', 'token'] });

    // Request lines carry allow-listed headers only: the credentials are not there at all.
    expect(linesOf(id)).toContainEqual(
      expect.objectContaining({
        msg: 'request completed',
        req: expect.objectContaining({
          url: '/work?token=[Redacted]',
          headers: { 'user-agent': 'node' },
        }),
      }),
    );
    const everything = lines.join('');
    for (const secret of [TOKEN, TOKEN.replace('q', 'Q'), BEARER, PASSWORD]) {
      expect(everything).not.toContain(secret);
    }
  });

  it('answers an unexpected error with the request id that its log line carries', async () => {
    const response = await fetch(`${url}/boom`, { headers: { 'X-Request-ID': 'boom-1' } });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: 'internal error', request_id: 'boom-1' });
    const own = linesOf('boom-1');
    expect(own).toContainEqual(
      expect.objectContaining({ level: 'error', event: 'unhandled_error', request_id: 'boom-1' }),
    );
    expect(own).toContainEqual(
      expect.objectContaining({
        level: 'error',
        msg: 'request completed',
        res: { status_code: 500 },
      }),
    );
  });

  it('answers a dependency that is down with 503 and one warning naming it, without a stack', async () => {
    const response = await fetch(`${url}/outage`, { headers: { 'X-Request-ID': 'outage-1' } });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ error: 'database unavailable' });
    const own = linesOf('outage-1');
    expect(own.filter((line) => line.event !== undefined)).toEqual([
      expect.objectContaining({
        level: 'warn',
        event: 'dependency_unavailable',
        dependency: 'database',
        reason: 'ECONNREFUSED',
        method: 'GET',
        path: '/outage',
      }),
    ]);
    expect(JSON.stringify(own)).not.toContain('stack');
  });

  it("answers an upstream's rate limit on this service with 503 and the upstream's Retry-After", async () => {
    const response = await fetch(`${url}/limited`, { headers: { 'X-Request-ID': 'limited-1' } });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('3');
    expect(await response.json()).toEqual({ error: 'echo unavailable' });
    expect(linesOf('limited-1').filter((line) => line.event !== undefined)).toEqual([
      expect.objectContaining({
        level: 'warn',
        event: 'dependency_unavailable',
        dependency: 'echo',
        reason: 'rate_limited',
        path: '/limited',
      }),
    ]);
  });
});
