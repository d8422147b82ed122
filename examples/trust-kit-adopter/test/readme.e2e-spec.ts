import { readmeExcerpts, staleReadmeExcerpts } from '@zt/test-kit';

const README = 'libs/service-utils/README.md';

// The README's code is this sample's code: built and run by orders.e2e-spec.ts, its route
// inventory run by the project's unit test. Here: the README shows it as it is.
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
    ]);
  });
});
