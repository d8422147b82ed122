import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { listRoutes } from '@zt/service-utils';
import {
  generateToken,
  publicRouteNames,
  request,
  routesOpenWithoutCredential,
} from '@zt/test-kit';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppModule } from './app.module';
import { loadFilesystemConfig } from './config/filesystem.config';

describe('filesystem-server route inventory', () => {
  let app: INestApplication;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'filesystem-routes-'));
    const config = loadFilesystemConfig({
      INTERNAL_SERVICE_TOKEN: generateToken(),
      FILESYSTEM_SERVER_PORT: '0',
      DATA_DIR: dataDir,
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

  it('declares the file routes and health, nothing else', () => {
    expect(listRoutes(app).map((route) => `${route.method} ${route.path}`)).toEqual([
      'GET /files',
      'DELETE /files/*path',
      'GET /files/*path',
      'PUT /files/*path',
      'GET /health',
    ]);
  });

  it('declares exactly the intended public routes (adding one is a security decision)', () => {
    expect(publicRouteNames(app)).toEqual(['GET /health']);
  });

  it('refuses every other route without the internal credential', async () => {
    expect(await routesOpenWithoutCredential(app)).toEqual([]);
    // Nothing was written for anyone: only the service's own uploads folder exists.
    expect(readdirSync(join(dataDir, 'filesystem-server'))).toEqual(['.uploads']);
  });

  it('answers its public routes without a credential, checking the data folder', async () => {
    const response = await request(`${await app.getUrl()}/health`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ok', checks: { data_folder: 'up' } });
  });
});
