import { ConfigError } from './config.error';
import { readHttpUrl } from './environment';

describe(readHttpUrl.name, () => {
  const sut = (value: string | undefined) =>
    readHttpUrl({ X_URL: value }, 'X_URL', 'http://127.0.0.1:1');

  it('takes an http(s) URL without its trailing slashes, or the fallback', () => {
    expect(sut('https://auth.internal:6001/')).toBe('https://auth.internal:6001');
    expect(sut('http://billing:6004/prefix//')).toBe('http://billing:6004/prefix');
    expect(sut(undefined)).toBe('http://127.0.0.1:1');
    expect(sut('  ')).toBe('http://127.0.0.1:1');
  });

  it.each([
    'ftp://host/x',
    'file:///etc/passwd',
    'not a url',
    'http://user:secret@host:1',
    'http://host:1/?token=secret',
    'http://host:1/#fragment',
  ])('refuses %s with an error that names the variable and not the value', (value) => {
    expect(() => sut(value)).toThrow(ConfigError);
    expect(() => sut(value)).toThrow(/^X_URL /);
    try {
      sut(value);
    } catch (error) {
      expect((error as Error).message).not.toContain('secret');
    }
  });
});
