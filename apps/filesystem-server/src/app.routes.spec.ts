import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { listRoutes } from '@zt/service-utils';
import {
  generateToken,
  internalOnlyRouteNames,
  publicRouteNames,
  request,
  routesOpenWithoutCredential,
  scrapeRouteProbe,
  routesWithoutScopes,
  serviceDocsExposed,
} from '@zt/test-kit';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppModule } from './app.module';
import { loadFilesystemConfig } from './config/filesystem.config';

describe('filesystem-server route inventory', () => {
  const token = generateToken();
  let app: INestApplication;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'filesystem-routes-'));
    const config = loadFilesystemConfig({
      INTERNAL_SERVICE_TOKEN: token,
      FILESYSTEM_SERVER_PORT: '0',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
    });
    const moduleRef = await Test.createTestingModule({
      imports: [AppModule.forRoot(config)],
    }).compile();
    app = moduleRef.createNestApplication({ bodyParser: false, logger: false });
    await app.listen(0, '127.0.0.1');
  });

  afterAll(async () => {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('declares the file and write journal routes, health and metrics, nothing else', () => {
    expect(listRoutes(app).map((route) => `${route.method} ${route.path}`)).toEqual([
      'GET /files',
      'DELETE /files/*path',
      'GET /files/*path',
      'PUT /files/*path',
      'GET /health',
      'GET /health/live',
      'GET /health/ready',
      'GET /metrics',
      'GET /writes',
      'POST /writes/:write_id/resolve',
    ]);
  });

  it('declares exactly the intended public routes (adding one is a security decision)', () => {
    expect(publicRouteNames(app)).toEqual(['GET /health', 'GET /health/live', 'GET /health/ready']);
    expect(internalOnlyRouteNames(app)).toEqual(['GET /metrics']);
  });

  it('declares the scopes every internal route accepts (service identity, DESIGN section 9)', () => {
    expect(routesWithoutScopes(app)).toEqual([]);
  });

  it('refuses every other route without the internal credential', async () => {
    expect(await routesOpenWithoutCredential(app)).toEqual([]);
    // Nothing was written or fenced for anyone: only the service's own folders exist, empty.
    const filesDir = join(dataDir, 'filesystem-server');
    expect(readdirSync(filesDir).sort()).toEqual(['.uploads', '.writes']);
    expect(readdirSync(join(filesDir, '.writes'))).toEqual([]);
  });

  it('refuses GET /metrics with 401 without the scrape credential, the internal token included', async () => {
    expect(await routesOpenWithoutCredential(app, scrapeRouteProbe(token))).toEqual([]);
  });

  it('answers its public routes without a credential, checking the data folder', async () => {
    const url = await app.getUrl();
    const response = await request(`${url}/health`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ok', checks: { data_folder: 'up' } });
    expect(await request(`${url}/health/ready`)).toMatchObject({
      status: 200,
      body: { status: 'ok', details: { data_folder: { status: 'up' } } },
    });
    expect(await request(`${url}/health/live`)).toMatchObject({ status: 200 });
  });

  it('is not ready, but still live, when its data folder cannot be written', async () => {
    const url = await app.getUrl();
    // Root may write anywhere: take the folder away rather than its permissions.
    const uploads = join(dataDir, 'filesystem-server', '.uploads');
    rmSync(uploads, { recursive: true });
    try {
      expect(await request(`${url}/health/ready`)).toMatchObject({
        status: 503,
        body: { status: 'error', error: { data_folder: { status: 'down' } } },
      });
      expect(await request(`${url}/health`)).toMatchObject({
        status: 503,
        body: { status: 'unavailable', checks: { data_folder: 'down' } },
      });
      expect(await request(`${url}/health/live`)).toMatchObject({ status: 200 });
    } finally {
      mkdirSync(uploads, { mode: 0o700 });
    }
    expect(await request(`${url}/health/ready`)).toMatchObject({ status: 200 });
  });

  it('serves no API docs on its port', async () => {
    expect(await serviceDocsExposed(app)).toEqual([]);
  });
});
