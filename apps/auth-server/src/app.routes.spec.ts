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
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppModule } from './app.module';
import { loadAuthConfig } from './config/auth.config';

describe('auth-server route inventory', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'auth-routes-'));
  const token = generateToken();
  const metricsToken = generateToken();
  let app: INestApplication;

  beforeAll(async () => {
    const config = loadAuthConfig({
      INTERNAL_SERVICE_TOKEN: token,
      METRICS_TOKEN: metricsToken,
      AUTH_SERVER_PORT: '0',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
    });
    const moduleRef = await Test.createTestingModule({
      imports: [AppModule.forRoot(config, { embeddedDirectory: null })],
    }).compile();
    app = moduleRef.createNestApplication({ bodyParser: false, logger: false });
    await app.listen(0, '127.0.0.1');
  });

  afterAll(async () => {
    await app?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('declares exactly the intended public routes (adding one is a security decision)', () => {
    expect(publicRouteNames(app)).toEqual([
      'GET /.well-known/jwks.json',
      'GET /.well-known/oauth-authorization-server',
      'GET /health',
      'GET /health/live',
      'GET /health/ready',
      'POST /login',
      // Introspection, revocation and the token endpoint authenticate the client themselves.
      'POST /oauth2/introspect',
      'GET /oauth2/jwks',
      'POST /oauth2/revoke',
      'POST /oauth2/token',
      'POST /register',
    ]);
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

  it('serves the JWKS without a credential, public keys only', async () => {
    const response = await request(`${await app.getUrl()}/.well-known/jwks.json`);
    expect(response.status).toBe(200);
    const { keys } = response.body as { keys: Array<Record<string, unknown>> };
    expect(keys).toEqual([
      expect.objectContaining({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' }),
    ]);
    expect(keys[0]).not.toHaveProperty('d');
  });

  it('is ready with its database up and its breaker towards billing closed', async () => {
    const response = await request(`${await app.getUrl()}/health/ready`);
    expect(response).toMatchObject({
      status: 200,
      body: {
        status: 'ok',
        details: { database: { status: 'up' }, billing: { status: 'up', breaker: 'closed' } },
      },
    });
  });

  it('reports its breaker towards billing and its token issuance in its metrics, to the scraper only', async () => {
    const url = await app.getUrl();
    expect((await request(`${url}/metrics`)).status).toBe(401);
    const scrape = await request(`${url}/metrics`, {
      headers: { Authorization: `Bearer ${metricsToken}` },
    });
    expect(scrape.status).toBe(200);
    const series = (state: string) =>
      readMetric(scrape.body as string, 'internal_circuit_breaker_state', {
        upstream: 'billing',
        state,
      });
    expect([series('closed'), series('half_open'), series('open')]).toEqual([1, 0, 0]);
    expect(
      readMetric(scrape.body as string, 'oauth_token_requests_total', {
        client_id: 'backend',
        result: 'issued',
      }),
    ).toBe(0);
  });

  it('serves no API docs on its port', async () => {
    expect(await serviceDocsExposed(app)).toEqual([]);
  });
});
