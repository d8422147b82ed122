import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { listRoutes } from '@zt/service-utils';
import { serveOpenApiDocs } from '@zt/service-chassis';
import {
  closedPort,
  generateToken,
  internalOnlyRouteNames,
  publicRouteNames,
  readMetric,
  request,
  routesOpenWithoutCredential,
  scrapeRouteProbe,
  routesWithoutScopes,
} from '@zt/test-kit';
import { AppModule, BACKEND_OPENAPI } from './app.module';
import { loadBackendConfig } from './config/backend.config';

describe('backend route inventory', () => {
  const internalToken = generateToken();
  const metricsToken = generateToken();
  let app: INestApplication;

  beforeAll(async () => {
    const nowhere = `http://127.0.0.1:${await closedPort()}`;
    const config = loadBackendConfig({
      INTERNAL_SERVICE_TOKEN: internalToken,
      METRICS_TOKEN: metricsToken,
      BACKEND_PORT: '0',
      AUTH_SERVER_URL: nowhere,
      BILLING_SERVER_URL: nowhere,
      FILESYSTEM_SERVER_URL: nowhere,
      LOG_LEVEL: 'silent',
    });
    const moduleRef = await Test.createTestingModule({
      imports: [AppModule.forRoot(config)],
    }).compile();
    app = moduleRef.createNestApplication({ bodyParser: false, logger: false });
    serveOpenApiDocs(app, BACKEND_OPENAPI);
    await app.listen(0, '127.0.0.1');
  });

  afterAll(async () => {
    await app.close();
  });

  it('declares the scopes every internal route accepts (service identity, DESIGN section 9)', () => {
    expect(routesWithoutScopes(app, (route) => route.isInternalOnly)).toEqual([]);
  });

  it('declares exactly the intended public routes (adding one is a security decision)', () => {
    expect(publicRouteNames(app)).toEqual(['GET /health', 'GET /health/live', 'GET /health/ready']);
    expect(internalOnlyRouteNames(app)).toEqual(['GET /metrics']);
  });

  it('has the routes of the public API', () => {
    expect(listRoutes(app).map((route) => `${route.method} ${route.path}`)).toEqual([
      'GET /health',
      'GET /health/live',
      'GET /health/ready',
      'GET /me',
      'GET /me/files',
      'DELETE /me/files/*path',
      'GET /me/files/*path',
      'PUT /me/files/*path',
      'POST /me/logout',
      'POST /me/password',
      'GET /metrics',
    ]);
  });

  it('answers 401 on every other route without a user token, whatever else is sent', async () => {
    const open = await routesOpenWithoutCredential(app, {
      routes: (route) => !route.isPublic && !route.isInternalOnly,
      attempts: [
        {},
        // The internal credential is not a user credential at the public edge.
        { 'X-INTERNAL-TOKEN': internalToken, 'X-User-ID': 'sample-user' },
        { Authorization: `Bearer ${internalToken}` },
        { Authorization: 'Bearer not.a.jwt' },
      ],
      refusal: { status: 401, body: { error: 'unauthorized' } },
    });
    expect(open).toEqual([]);
  });

  it('serves health without a token, reporting each upstream', async () => {
    const url = await app.getUrl();
    expect(await request(`${url}/health`)).toMatchObject({
      status: 200,
      body: { status: 'ok', checks: { billing: 'up', filesystem: 'up' } },
    });
    expect(await request(`${url}/health/ready`)).toMatchObject({
      status: 200,
      body: {
        status: 'ok',
        details: {
          billing: { status: 'up', breaker: 'closed' },
          filesystem: { status: 'up', breaker: 'closed' },
        },
      },
    });
    expect(await request(`${url}/health/live`)).toMatchObject({
      status: 200,
      body: { status: 'ok', details: {} },
    });
  });

  it('serves metrics to the scrape credential only: never to a user, the internal token, nor a caller without it', async () => {
    expect(await routesOpenWithoutCredential(app, scrapeRouteProbe(internalToken))).toEqual([]);
    const url = `${await app.getUrl()}/metrics`;
    const attempts: Array<Record<string, string>> = [
      { Authorization: `Bearer ${generateToken()}` },
      { Authorization: `Bearer ${metricsToken},${metricsToken}` },
    ];
    for (const headers of attempts) {
      expect(await request(url, { headers })).toMatchObject({
        status: 401,
        body: { error: 'unauthorized' },
      });
    }
    const scrape = await request(url, { headers: { Authorization: `Bearer ${metricsToken}` } });
    expect(scrape.status).toBe(200);
    const text = scrape.body as string;
    for (const upstream of ['billing', 'filesystem']) {
      expect(
        readMetric(text, 'internal_circuit_breaker_state', { upstream, state: 'closed' }),
      ).toBe(1);
      expect(readMetric(text, 'internal_circuit_breaker_state', { upstream, state: 'open' })).toBe(
        0,
      );
    }
    expect(readMetric(text, 'internal_auth_denied_total', { reason: 'bearer_missing' })).toBe(2);
    expect(
      readMetric(text, 'internal_auth_denied_total', { reason: 'metrics_token_mismatch' }),
    ).toBe(2);
    expect(readMetric(text, 'internal_auth_denied_total', { reason: 'bearer_malformed' })).toBe(1);
    // The upload budget (default 64 MiB), and nothing held.
    expect(readMetric(text, 'backend_upload_budget_bytes')).toBe(64 * 1024 * 1024);
    expect(readMetric(text, 'backend_upload_held_bytes')).toBe(0);
  });

  it('serves its interactive API docs at /docs without a token, and the document beside them', async () => {
    const url = await app.getUrl();
    const ui = await request(`${url}/docs`);
    expect(ui.status).toBe(200);
    expect(ui.headers.get('content-type')).toContain('text/html');
    expect(ui.body).toContain('swagger-ui');

    const document = await request(`${url}/docs/openapi.json`);
    expect(document.status).toBe(200);
    const spec = document.body as {
      openapi: string;
      paths: Record<string, Record<string, { security?: unknown[] }>>;
    };
    expect(spec.openapi).toMatch(/^3\./);
    expect(spec.paths['/me']['get'].security).toEqual([{ bearer: [] }]);
    expect(spec.paths['/metrics']['get'].security).toEqual([{ 'metrics-token': [] }]);
    expect(spec.paths['/health/ready']['get'].security).toEqual([]);
  });

  it('answers an unknown route 404', async () => {
    expect((await request(`${await app.getUrl()}/admin`)).status).toBe(404);
  });
});
