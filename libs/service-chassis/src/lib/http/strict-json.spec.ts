import { MAX_JSON_DEPTH, parseStrictJson, StrictJsonError } from './strict-json';

describe(parseStrictJson.name, () => {
  it.each([
    '{}',
    '[]',
    '{"a":1,"b":[true,false,null],"c":{"d":"e\\u00e9\\n"}}',
    ' { "amount" : -1.5 } ',
    '{"a":1.50,"b":0.10,"c":100.000,"d":9007199254740991}',
    '"text"',
    '0',
    '{"a":{"a":1}}',
  ])('parses %s exactly like JSON.parse', (text) => {
    expect(parseStrictJson(text)).toEqual(JSON.parse(text));
  });

  it.each([
    ['a repeated key', '{"amount":1,"amount":2}', 'repeated key "amount"'],
    ['a repeated key spelled with an escape', '{"a":1,"\\u0061":2}', 'repeated key "a"'],
    ['a __proto__ key', '{"__proto__":{"admin":true}}', 'forbidden key "__proto__"'],
    ['an escaped __proto__ key', '{"\\u005f_proto__":{}}', 'forbidden key "__proto__"'],
    ['trailing data', '{} {}', 'unexpected data'],
    ['a trailing comma', '{"a":1,}', 'expected a string key'],
    ['single quotes', "{'a':1}", 'expected a string key'],
    ['a bare word', '{"a":NaN}', 'unexpected character'],
    ['a leading zero', '{"a":01}', "expected '}'"],
    ['an unterminated string', '{"a":"b}', 'malformed string'],
    ['a raw control character', '{"a":"\u0001"}', 'malformed string'],
    ['nothing', '', 'unexpected end of input'],
    ['an exponent', '{"amount":5E0}', 'number not in plain, exact decimal form'],
    ['a negative exponent', '{"amount":1.5e-1}', 'number not in plain, exact decimal form'],
    ['digits a double drops', '{"amount":1.00000000000000001}', 'plain, exact decimal'],
    ['an integer a double rounds', '{"amount":12345678901234567890}', 'plain, exact decimal'],
    ['a number beyond double range', '{"amount":1e309}', 'plain, exact decimal'],
    ['negative zero', '{"amount":-0}', 'plain, exact decimal'],
    [
      'excessive nesting',
      '['.repeat(MAX_JSON_DEPTH + 2) + ']'.repeat(MAX_JSON_DEPTH + 2),
      'nesting deeper',
    ],
  ])('refuses %s', (_label, text, message) => {
    expect(() => parseStrictJson(text)).toThrow(StrictJsonError);
    expect(() => parseStrictJson(text)).toThrow(message);
  });

  it('keeps __proto__ out of the prototype chain of what it returns', () => {
    const parsed = parseStrictJson('{"constructor":{"prototype":{}}}') as object;
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
  });
});
