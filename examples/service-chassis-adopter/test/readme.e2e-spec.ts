import { readmeExcerpts, staleReadmeExcerpts } from '@zt/test-kit';

const README = 'libs/service-chassis/README.md';

// The README's code is this sample's code, built and run by reports.e2e-spec.ts.
describe(README, () => {
  it('shows each file of the sample as it is', () => {
    expect(staleReadmeExcerpts(README)).toEqual([]);
  });

  it('shows the sample whole', () => {
    const shown = readmeExcerpts(README).map((excerpt) => excerpt.source);
    expect(shown).toEqual([
      'examples/service-chassis-adopter/src/main.ts',
      'examples/service-chassis-adopter/src/config/reports.config.ts',
      'examples/service-chassis-adopter/src/app.module.ts',
      'examples/service-chassis-adopter/src/reports/ledger.client.ts',
    ]);
  });
});
