import { TokenMatcher } from './token-matcher';

describe(TokenMatcher.name, () => {
  const current = 'a'.repeat(20) + 'BCDEFGHIJKLMNOPQ';
  const next = 'z'.repeat(20) + 'RSTUVWXYZ0123456';
  const sut = new TokenMatcher([current, next]);

  it('accepts every accepted token', () => {
    expect(sut.matches(current)).toBe(true);
    expect(sut.matches(next)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['a prefix', current.slice(0, -1)],
    ['longer', current + 'x'],
    ['much longer', current.repeat(100)],
    ['one character off', current.slice(0, -1) + 'R'],
    ['different case', current.toUpperCase()],
    ['both joined', `${current},${next}`],
  ])('refuses %s without throwing', (_label, candidate) => {
    expect(sut.matches(candidate)).toBe(false);
  });

  it('refuses to be built without a token', () => {
    expect(() => new TokenMatcher([])).toThrow('at least one token');
  });
});
