import { Test } from '@nestjs/testing';
import { listRoutes } from '@zt/service-utils';
import { randomBytes } from 'node:crypto';
import { AppModule } from './app.module';
import { loadOrdersConfig } from './config/orders.config';

// Trust kit: the route inventory. Opening a route is a security decision, so this list
// changes only on purpose: a new route is internal unless it says @Public().
describe('orders route inventory', () => {
  it('opens GET /health only: every other route needs the internal credential', async () => {
    const token = randomBytes(32).toString('base64url');
    const config = loadOrdersConfig({ INTERNAL_SERVICE_TOKEN: token });
    const testing = await Test.createTestingModule({
      imports: [AppModule.forRoot(config)],
    }).compile();
    const app = await testing.createNestApplication({ logger: false }).init();
    try {
      const open = listRoutes(app).filter((route) => route.isPublic);
      expect(open.map((route) => `${route.method} ${route.path}`)).toEqual(['GET /health']);
    } finally {
      await app.close();
    }
  });
});
