import { MAX_BALANCE_MICROS, parseAmount, toCredits } from './credit-amount';

describe(parseAmount.name, () => {
  it.each([
    ['1', 1_000_000n],
    [1, 1_000_000n],
    ['4.25', 4_250_000n],
    [4.25, 4_250_000n],
    ['0.000001', 1n],
    [0.000001, 1n],
    ['0.1', 100_000n],
    [0.1, 100_000n],
    ['1000000', 1_000_000_000_000n],
    [1000000, 1_000_000_000_000n],
    ['999999.999999', 999_999_999_999n],
    [1.0, 1_000_000n],
  ])('converts %p exactly to %p micro-credits', (input, micros) => {
    expect(parseAmount(input)).toBe(micros);
  });

  it.each([
    ['zero', 0],
    ['zero as a string', '0'],
    ['zero with decimals', '0.000000'],
    ['negative', -1],
    ['negative string', '-1'],
    ['seven decimals', '0.0000001'],
    ['seven decimals as a number', 1.0000001],
    ['above the maximum', '1000000.000001'],
    ['above the maximum as a number', 1000001],
    ['an exponent string', '1e3'],
    ['an exponent-only number', 1e-7],
    ['a huge number', 1e21],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['1e309 (parsed as Infinity)', Number('1e309')],
    ['true', true],
    ['null', null],
    ['undefined', undefined],
    ['an array', [1]],
    ['an object', { value: 1 }],
    ['a string with spaces', ' 1'],
    ['a string with a trailing space', '1 '],
    ['a leading zero', '01'],
    ['a leading plus', '+1'],
    ['a bare point', '1.'],
    ['a leading point', '.5'],
    ['a comma decimal', '1,5'],
    ['hex', '0x10'],
    ['empty', ''],
  ])('refuses %s', (_label, input) => {
    expect(parseAmount(input)).toBeUndefined();
  });
});

describe(toCredits.name, () => {
  it.each([
    [5_000_000n, 5],
    [4_250_000n, 4.25],
    [1n, 0.000001],
    [-750_000n, -0.75],
    [0n, 0],
    [MAX_BALANCE_MICROS - 1n, 999999999.999999],
  ])('turns %p micro-credits into %p', (micros, credits) => {
    expect(toCredits(micros)).toBe(credits);
  });

  it('round-trips every balance up to the maximum through JSON exactly', () => {
    for (const micros of [
      MAX_BALANCE_MICROS,
      MAX_BALANCE_MICROS - 1n,
      123_456_789_123_456n,
      100_000_000_000_001n,
    ]) {
      const text = JSON.stringify(toCredits(micros));
      const [whole, fraction = ''] = text.split('.');
      expect(BigInt(whole) * 1_000_000n + BigInt(fraction.padEnd(6, '0'))).toBe(micros);
    }
  });
});
