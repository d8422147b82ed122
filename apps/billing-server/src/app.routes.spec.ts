import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  generateToken,
  publicRouteNames,
  request,
  routesOpenWithoutCredential,
} from '@zt/test-kit';
import { AppModule } from './app.module';
import { loadBillingConfig } from './config/billing.config';

describe('billing-server route inventory', () => {
  let app: INestApplication;

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
  });

  afterAll(() => app?.close());

  it('declares exactly the intended public routes (adding one is a security decision)', () => {
    expect(publicRouteNames(app)).toEqual(['GET /health']);
  });

  it('refuses every other route without the internal credential', async () => {
    expect(await routesOpenWithoutCredential(app)).toEqual([]);
  });

  it('answers its public routes without a credential', async () => {
    expect((await request(`${await app.getUrl()}/health`)).status).toBe(200);
  });
});
