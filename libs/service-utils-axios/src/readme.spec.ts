import { readmeExcerpts, staleReadmeExcerpts } from '@zt/test-kit';

const README = 'libs/service-utils-axios/README.md';

// The README's examples are regions of this library's specs, which compile and run them.
describe(README, () => {
  it('shows each example as the specs run it', () => {
    expect(staleReadmeExcerpts(README)).toEqual([]);
    expect(readmeExcerpts(README).length).toBeGreaterThanOrEqual(4);
  });
});
