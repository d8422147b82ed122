import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { listRoutes } from '@zt/service-utils';
import { generateToken, request } from '@zt/test-kit';
import { AppModule } from './app.module';
import { loadBillingConfig } from './config/billing.config';

/** Routes anyone may call without the internal credential. Adding one is a security decision. */
const PUBLIC_ROUTES = ['GET /health'];

describe('billing-server route inventory', () => {
  let app: INestApplication;
  let baseUrl: string;

  beforeAll(async () => {
    const config = loadBillingConfig({
      INTERNAL_SERVICE_TOKEN: generateToken(),
      BILLING_SERVER_PORT: '0',
    });
    const moduleRef = await Test.createTestingModule({
      imports: [AppModule.forRoot(config, null)],
    }).compile();
    app = moduleRef.createNestApplication({ bodyParser: false, logger: false });
    await app.listen(0, '127.0.0.1');
    baseUrl = await app.getUrl();
  });

  afterAll(() => app.close());

  it('declares exactly the intended public routes', () => {
    const routes = listRoutes(app);
    expect(routes.length).toBeGreaterThan(PUBLIC_ROUTES.length);
    expect(
      routes.filter((route) => route.isPublic).map((route) => `${route.method} ${route.path}`),
    ).toEqual(PUBLIC_ROUTES);
  });

  it('refuses every other route without the internal credential', async () => {
    const guarded = listRoutes(app).filter((route) => !route.isPublic);
    for (const route of guarded) {
      const path = route.path.replace(/:[^/]+/g, 'sample-user').replace(/\*[^/]*/g, 'a/b.txt');
      const response = await request(`${baseUrl}${path}`, {
        method: route.method,
        json:
          route.method === 'GET' ? undefined : { user_id: 'sample-user', tier: 'pro', amount: 1 },
      });
      expect({ route: route.handler, status: response.status, body: response.body }).toEqual({
        route: route.handler,
        status: 403,
        body: { error: 'Forbidden' },
      });
    }
  });

  it('answers its public routes without a credential', async () => {
    expect((await request(`${baseUrl}/health`)).status).toBe(200);
  });
});
