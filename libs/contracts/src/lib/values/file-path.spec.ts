import {
  encodedFilePathOf,
  isValidSegment,
  MAX_FILE_PATH_LENGTH,
  parseFilePath,
} from './file-path';
import { InvalidFilePathError } from './invalid-file-path.error';

function refusal(encoded: string): string {
  try {
    parseFilePath(encoded);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidFilePathError);
    return (error as InvalidFilePathError).message;
  }
  throw new Error(`expected ${JSON.stringify(encoded)} to be refused`);
}

describe(parseFilePath.name, () => {
  describe('accepts', () => {
    it.each([
      ['a', 'a', ['a']],
      ['notes/2024/todo.txt', 'notes/2024/todo.txt', ['notes', '2024', 'todo.txt']],
      ['a%20b.txt', 'a b.txt', ['a b.txt']],
      ['caf%C3%A9/%E6%97%A5%E6%9C%AC.txt', 'café/日本.txt', ['café', '日本.txt']],
      ['%F0%9F%98%80', '😀', ['😀']],
      ['.hidden', '.hidden', ['.hidden']],
      ['...', '...', ['...']],
      ['a..b/..c/d..', 'a..b/..c/d..', ['a..b', '..c', 'd..']],
      ['%2e.hidden', '..hidden', ['..hidden']],
      ['100%25', '100%', ['100%']],
      // Decoded once only: `%252e%252e` is the literal name `%2e%2e`, not `..`.
      ['%252e%252e', '%2e%2e', ['%2e%2e']],
      ['a+b=c;d,e@f:g!h$i&j(k)l~m', 'a+b=c;d,e@f:g!h$i&j(k)l~m', ['a+b=c;d,e@f:g!h$i&j(k)l~m']],
    ])('%j as %j', (encoded, path, segments) => {
      expect(parseFilePath(encoded)).toEqual({ path, segments });
    });

    it(`a path of exactly ${MAX_FILE_PATH_LENGTH} characters`, () => {
      const encoded = `${'a'.repeat(200)}/`.repeat(5) + 'b'.repeat(MAX_FILE_PATH_LENGTH - 1005);
      const sut = parseFilePath(encoded);
      expect(sut.path).toHaveLength(MAX_FILE_PATH_LENGTH);
      expect(sut.segments).toHaveLength(6);
    });

    it('counts characters, not bytes or escapes: 1024 encoded "é" are 1024 characters', () => {
      const segment = '%C3%A9'.repeat(100);
      const encoded = Array.from({ length: 10 }, () => segment).join('/') + '/' + 'x'.repeat(14);
      expect([...parseFilePath(encoded).path]).toHaveLength(MAX_FILE_PATH_LENGTH);
    });
  });

  describe('refuses', () => {
    it.each([
      ['an empty path', '', 'file path is empty'],
      ['an absolute path', '/etc/passwd', 'file path must not be absolute'],
      ['a double leading slash', '//etc/passwd', 'file path must not be absolute'],
      ['an empty segment', 'a//b', 'file path has an empty segment'],
      ['a trailing slash', 'a/b/', 'file path has an empty segment'],
      ['a lone slash', '/', 'file path must not be absolute'],
      ['..', '..', 'file path has a "." or ".." segment'],
      ['.. in the middle', 'a/../b', 'file path has a "." or ".." segment'],
      ['.. at the end', 'a/..', 'file path has a "." or ".." segment'],
      ['.', './a', 'file path has a "." or ".." segment'],
      ['. in the middle', 'a/./b', 'file path has a "." or ".." segment'],
      ['%2e%2e', '%2e%2e/etc/passwd', 'file path has a "." or ".." segment'],
      ['%2E%2e (mixed case)', 'a/%2E%2e/b', 'file path has a "." or ".." segment'],
      ['%2E%2E', 'a/%2E%2E', 'file path has a "." or ".." segment'],
      ['.%2e', 'a/.%2e/b', 'file path has a "." or ".." segment'],
      ['%2e.', '%2e./b', 'file path has a "." or ".." segment'],
      ['%2e', 'a/%2e/b', 'file path has a "." or ".." segment'],
      ['%2f (encoded slash)', 'a%2fb', 'file path has an encoded slash (%2F) inside a segment'],
      ['%2F (encoded slash)', 'a%2Fb', 'file path has an encoded slash (%2F) inside a segment'],
      ['..%2f', '..%2fetc', 'file path has an encoded slash (%2F) inside a segment'],
      [
        '%2e%2e%2f',
        '%2e%2e%2fetc%2fpasswd',
        'file path has an encoded slash (%2F) inside a segment',
      ],
      ['a raw backslash', 'a\\b', 'file path has a backslash'],
      ['a backslash pair', '..\\..\\etc', 'file path has a backslash'],
      ['%5c', 'a%5cb', 'file path has a backslash'],
      ['%5C', '..%5C..%5Cetc', 'file path has a backslash'],
      ['%00', 'a%00.txt', 'file path has a control character'],
      ['%00 alone', '%00', 'file path has a control character'],
      ['%0a', 'a%0ab', 'file path has a control character'],
      ['%0d%0a', 'a%0d%0aSet-Cookie:x', 'file path has a control character'],
      ['%09', 'a%09b', 'file path has a control character'],
      ['%1f', 'a%1f', 'file path has a control character'],
      ['%7f (DEL)', 'a%7f', 'file path has a control character'],
      ['%c2%85 (C1 NEL)', 'a%c2%85', 'file path has a control character'],
      [
        'a raw control character',
        'a\u0001b',
        'file path has a character that must be percent-encoded',
      ],
      ['a raw NUL', 'a\u0000b', 'file path has a character that must be percent-encoded'],
      ['a raw space', 'a b', 'file path has a character that must be percent-encoded'],
      ['raw non-ASCII', 'café', 'file path has a character that must be percent-encoded'],
      ['a raw #', 'a#b', 'file path has a character that must be percent-encoded'],
      ['a malformed escape', 'a%zzb', 'file path has a malformed percent-encoding'],
      ['a truncated escape', 'a%2', 'file path has a malformed percent-encoding'],
      ['a lone %', '%', 'file path has a malformed percent-encoding'],
      ['invalid UTF-8', '%ff', 'file path has a malformed percent-encoding'],
      ['an encoded surrogate', '%ED%A0%80', 'file path has a malformed percent-encoding'],
      [
        'a segment over 255 bytes',
        'a'.repeat(256),
        'file path has a segment longer than 255 bytes',
      ],
      [
        'a segment over 255 bytes in UTF-8',
        '%C3%A9'.repeat(128),
        'file path has a segment longer than 255 bytes',
      ],
      [
        `${MAX_FILE_PATH_LENGTH + 1} characters`,
        `${'a'.repeat(200)}/`.repeat(5) + 'b'.repeat(MAX_FILE_PATH_LENGTH + 1 - 1005),
        `file path is longer than ${MAX_FILE_PATH_LENGTH} characters`,
      ],
    ])('%s (%j)', (_label, encoded, message) => {
      expect(refusal(encoded)).toBe(message);
    });

    it('never echoes the path in its message', () => {
      expect(refusal('secret-name/../x')).not.toContain('secret-name');
    });
  });
});

describe(encodedFilePathOf.name, () => {
  it.each([
    ['/files/a/b.txt', 'a/b.txt'],
    ['/files/a%2Fb?x=1', 'a%2Fb'],
    ['/files/..%2f..%2fetc?', '..%2f..%2fetc'],
    ['/files//etc/passwd', '/etc/passwd'],
    ['/FILES/a', 'a'],
    ['/files/', ''],
  ])('takes %j as %j, still encoded', (url, encoded) => {
    expect(encodedFilePathOf(url)).toBe(encoded);
  });

  it('refuses a URL whose prefix is not written as /files/', () => {
    expect(() => encodedFilePathOf('/%66iles/a')).toThrow(InvalidFilePathError);
    expect(() => encodedFilePathOf('http://host/files/a')).toThrow(InvalidFilePathError);
  });
});

describe(isValidSegment.name, () => {
  it.each([
    ['a.txt', true],
    ['日本', true],
    ['', false],
    ['.', false],
    ['..', false],
    ['a\\b', false],
    ['a\nb', false],
    ['x'.repeat(256), false],
  ])('%j -> %s', (name, valid) => {
    expect(isValidSegment(name)).toBe(valid);
  });
});
