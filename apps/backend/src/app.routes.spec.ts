import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { listRoutes } from '@zt/service-utils';
import { generateToken, publicRouteNames, request } from '@zt/test-kit';
import { AppModule } from './app.module';
import { loadBackendConfig } from './config/backend.config';
import { closedPort } from './testing/scripted-server';

describe('backend route inventory', () => {
  const internalToken = generateToken();
  let app: INestApplication;

  beforeAll(async () => {
    const nowhere = `http://127.0.0.1:${await closedPort()}`;
    const config = loadBackendConfig({
      INTERNAL_SERVICE_TOKEN: internalToken,
      BACKEND_PORT: '0',
      AUTH_SERVER_URL: nowhere,
      BILLING_SERVER_URL: nowhere,
      FILESYSTEM_SERVER_URL: nowhere,
    });
    const moduleRef = await Test.createTestingModule({
      imports: [AppModule.forRoot(config)],
    }).compile();
    app = moduleRef.createNestApplication({ bodyParser: false, logger: false });
    await app.listen(0, '127.0.0.1');
  });

  afterAll(async () => {
    await app.close();
  });

  it('declares exactly the intended public routes (adding one is a security decision)', () => {
    expect(publicRouteNames(app)).toEqual(['GET /health']);
  });

  it('has the routes of the public API', () => {
    expect(listRoutes(app).map((route) => `${route.method} ${route.path}`)).toEqual([
      'GET /health',
      'GET /me',
      'GET /me/files',
      'DELETE /me/files/*path',
      'GET /me/files/*path',
      'PUT /me/files/*path',
    ]);
  });

  it('answers 401 on every other route without a user token, whatever else is sent', async () => {
    const baseUrl = await app.getUrl();
    const routes = listRoutes(app).filter((route) => !route.isPublic);
    expect(routes.length).toBeGreaterThan(0);
    const open: string[] = [];
    for (const route of routes) {
      const url = `${baseUrl}${route.path.replace(/\*[^/]*/g, 'notes/a.txt')}`;
      const attempts: Array<Record<string, string>> = [
        {},
        // The internal credential is not a user credential at the public edge.
        { 'X-INTERNAL-TOKEN': internalToken, 'X-User-ID': 'sample-user' },
        { Authorization: `Bearer ${internalToken}` },
        { Authorization: 'Bearer not.a.jwt' },
      ];
      for (const headers of attempts) {
        const response = await request(url, {
          method: route.method,
          headers,
          body: route.method === 'PUT' ? 'some bytes' : undefined,
        });
        if (
          response.status !== 401 ||
          JSON.stringify(response.body) !== '{"error":"unauthorized"}'
        ) {
          open.push(
            `${route.method} ${route.path} ${JSON.stringify(headers)} -> ${response.status}`,
          );
        }
      }
    }
    expect(open).toEqual([]);
  });

  it('serves health without a token, reporting each upstream', async () => {
    const response = await request(`${await app.getUrl()}/health`);
    expect(response).toMatchObject({
      status: 200,
      body: { status: 'ok', checks: { billing: 'up', filesystem: 'up' } },
    });
  });

  it('answers an unknown route 404', async () => {
    expect((await request(`${await app.getUrl()}/admin`)).status).toBe(404);
  });
});
