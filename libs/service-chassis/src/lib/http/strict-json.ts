/** Deepest nesting a JSON body may have; deeper input is refused instead of exhausting the stack. */
export const MAX_JSON_DEPTH = 32;

/** A JSON text that `parseStrictJson` refuses; the message says where and why. */
export class StrictJsonError extends Error {
  readonly code = 'ERR_STRICT_JSON';
  constructor(message: string) {
    super(message);
    this.name = 'StrictJsonError';
  }
}

const WHITESPACE = /[ \t\n\r]*/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
// eslint-disable-next-line no-control-regex -- RFC 8259 forbids raw U+0000-U+001F in strings: matching them is the point.
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

/**
 * Parses JSON (RFC 8259) like `JSON.parse`, but refuses what `JSON.parse` silently accepts
 * and an attacker can exploit: a key repeated in one object (the last copy would win,
 * unseen by whoever checked the first), a `__proto__` key, nesting deeper than
 * {@link MAX_JSON_DEPTH}, and a number that is not plain decimal or that `JSON.parse` would
 * round (`5E0`, `1.5e-1`, `1.00000000000000001`, `12345678901234567890`): what a rule about
 * a number checks must be what the caller wrote.
 * @throws StrictJsonError with a message fit to return to the caller.
 */
export function parseStrictJson(text: string): unknown {
  let position = 0;

  const fail = (what: string): never => {
    throw new StrictJsonError(`${what} at position ${position}`);
  };
  const skipWhitespace = () => {
    WHITESPACE.lastIndex = position;
    WHITESPACE.exec(text);
    position = WHITESPACE.lastIndex;
  };
  const match = (pattern: RegExp): string | undefined => {
    pattern.lastIndex = position;
    const found = pattern.exec(text);
    if (!found) return undefined;
    position = pattern.lastIndex;
    return found[0];
  };
  const expect = (char: string) => {
    skipWhitespace();
    if (text[position] !== char) fail(`expected '${char}'`);
    position += 1;
  };

  const parseValue = (depth: number): unknown => {
    if (depth > MAX_JSON_DEPTH) fail(`nesting deeper than ${MAX_JSON_DEPTH}`);
    skipWhitespace();
    const char = text[position];
    if (char === '{') return parseObject(depth + 1);
    if (char === '[') return parseArray(depth + 1);
    if (char === '"') return parseString();
    for (const [literal, value] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(literal, position)) {
        position += literal.length;
        return value;
      }
    }
    const number = match(NUMBER);
    if (number === undefined)
      return fail(char === undefined ? 'unexpected end of input' : 'unexpected character');
    const value = Number(number);
    if (!isPlainExactDecimal(number, value)) fail('number not in plain, exact decimal form');
    return value;
  };

  const parseString = (): string => {
    const literal = match(STRING);
    if (literal === undefined) return fail('malformed string');
    return JSON.parse(literal) as string;
  };

  const parseObject = (depth: number): Record<string, unknown> => {
    position += 1;
    const result: Record<string, unknown> = {};
    const seen = new Set<string>();
    skipWhitespace();
    if (text[position] === '}') {
      position += 1;
      return result;
    }
    for (;;) {
      skipWhitespace();
      if (text[position] !== '"') fail('expected a string key');
      const key = parseString();
      if (key === '__proto__') fail('forbidden key "__proto__"');
      if (seen.has(key)) fail(`repeated key ${JSON.stringify(key)}`);
      seen.add(key);
      expect(':');
      result[key] = parseValue(depth);
      skipWhitespace();
      if (text[position] === ',') {
        position += 1;
        continue;
      }
      expect('}');
      return result;
    }
  };

  const parseArray = (depth: number): unknown[] => {
    position += 1;
    const result: unknown[] = [];
    skipWhitespace();
    if (text[position] === ']') {
      position += 1;
      return result;
    }
    for (;;) {
      result.push(parseValue(depth));
      skipWhitespace();
      if (text[position] === ',') {
        position += 1;
        continue;
      }
      expect(']');
      return result;
    }
  };

  const value = parseValue(0);
  skipWhitespace();
  if (position !== text.length) fail('unexpected data after the JSON value');
  return value;
}

/**
 * True when `text` has no exponent and names exactly the number it parses to: once trailing
 * zeros of its fraction are dropped, it reads as JavaScript writes that number (`1.50` is
 * `1.5`; `1.00000000000000001` parses to `1`, `-0` to `0`).
 */
function isPlainExactDecimal(text: string, value: number): boolean {
  if (/[eE]/.test(text)) return false;
  const trimmed = text.includes('.') ? text.replace(/\.?0+$/, '') : text;
  return trimmed === String(value);
}
