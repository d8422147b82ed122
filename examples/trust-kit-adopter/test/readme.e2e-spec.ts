import { readmeExcerpts, staleReadmeExcerpts } from '@zt/test-kit';

const README = 'libs/service-utils/README.md';

// The README's code is this sample's code: built and run by orders.e2e-spec.ts, its route
// inventory run by the project's unit test; and the Express and Fastify apps of the kit's
// adapter tests. Here: the README shows it as it is.
describe(README, () => {
  it('shows each file of the sample as it is', () => {
    expect(staleReadmeExcerpts(README)).toEqual([]);
  });

  it('shows every step of the adoption', () => {
    const shown = readmeExcerpts(README).map((excerpt) => excerpt.source);
    expect(shown).toEqual([
      'examples/trust-kit-adopter/src/config/orders.config.ts',
      'examples/trust-kit-adopter/src/main.ts',
      'examples/trust-kit-adopter/src/app.module.ts',
      'examples/trust-kit-adopter/src/health/health.controller.ts',
      'examples/trust-kit-adopter/src/orders/orders.controller.ts',
      'examples/trust-kit-adopter/src/inventory/inventory.client.ts',
      'examples/trust-kit-adopter/src/app.routes.spec.ts',
      // Beyond NestJS: the apps the kit's own adapter tests run.
      'libs/service-utils/src/lib/express/internal-auth.middleware.spec.ts',
      'libs/service-utils/src/lib/fastify/internal-auth.hook.spec.ts',
    ]);
  });
});
