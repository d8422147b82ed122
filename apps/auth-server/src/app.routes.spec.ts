import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  generateToken,
  publicRouteNames,
  request,
  routesOpenWithoutCredential,
} from '@zt/test-kit';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppModule } from './app.module';
import { loadAuthConfig } from './config/auth.config';

describe('auth-server route inventory', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'auth-routes-'));
  let app: INestApplication;

  beforeAll(async () => {
    const config = loadAuthConfig({
      INTERNAL_SERVICE_TOKEN: generateToken(),
      AUTH_SERVER_PORT: '0',
      DATA_DIR: dataDir,
    });
    const moduleRef = await Test.createTestingModule({
      imports: [AppModule.forRoot(config, null)],
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
      'GET /health',
      'POST /login',
      'POST /register',
    ]);
  });

  it('refuses every other route without the internal credential', async () => {
    expect(await routesOpenWithoutCredential(app)).toEqual([]);
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
});
