import { OAuthError } from './oauth.error';
import {
  isFormContentType,
  parseForm,
  readAudience,
  readClientCredentials,
  readScopes,
} from './token-request';

const form = (text: string) => parseForm(Buffer.from(text, 'latin1'));
const basic = (user: string, password: string) => ({
  kind: 'single' as const,
  value: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});
const absent = { kind: 'absent' as const };
const refusal = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    if (error instanceof OAuthError) return { error: error.error, status: error.status };
    throw error;
  }
  throw new Error('not refused');
};
const SERVICE_URLS = {
  'auth-server': 'http://auth.test',
  'billing-server': 'http://127.0.0.1:6004',
  'filesystem-server': 'https://files.internal/api',
  backend: 'http://127.0.0.1:8000',
};

describe(isFormContentType.name, () => {
  it.each([
    'application/x-www-form-urlencoded',
    'Application/X-WWW-Form-Urlencoded',
    'application/x-www-form-urlencoded; charset=UTF-8',
    'application/x-www-form-urlencoded;charset="utf-8"',
  ])('accepts %s', (value) => expect(isFormContentType(value)).toBe(true));

  it.each([
    '',
    'application/json',
    'multipart/form-data',
    'application/x-www-form-urlencoded; charset=latin1',
    'application/x-www-form-urlencodedx',
  ])('refuses %j', (value) => expect(isFormContentType(value)).toBe(false));
});

describe(parseForm.name, () => {
  it('decodes + and percent-encoded UTF-8, and leaves out parameters without a value', () => {
    expect(Object.fromEntries(form('a=1+2&b=%C3%A9t%C3%A9&c=&d&&e=x%3Dy'))).toEqual({
      a: '1 2',
      b: 'été',
      e: 'x=y',
    });
  });

  it('reads an empty body as no parameters', () => {
    expect(form('').size).toBe(0);
  });

  it.each([
    ['a repeated parameter', 'scope=a&scope=b'],
    ['a repeated parameter, once empty', 'scope=&scope=b'],
    ['a repeated parameter, spelled differently', 'scope=a&sc%6Fpe=b'],
    ['bad percent-encoding', 'a=%zz'],
    ['a lone %', 'a=%'],
    ['invalid UTF-8', 'a=%C3%28'],
    ['a raw space', 'a=b c'],
    ['raw non-ASCII', 'a=\u00e9'],
    ['a control character', 'a=%00'],
    ['a newline', 'a=%0A'],
    ['an empty name', '=x'],
  ])('refuses %s as invalid_request', (_name, text) => {
    expect(refusal(() => form(text))).toEqual({ error: 'invalid_request', status: 400 });
  });
});

describe(readClientCredentials.name, () => {
  it('reads client_secret_basic, form-decoding id and secret (RFC 6749 section 2.3.1)', () => {
    expect(readClientCredentials(basic('backend', 's%2Bcret'), form('grant_type=x'))).toEqual({
      method: 'client_secret_basic',
      clientId: 'backend',
      secret: 's+cret',
    });
  });

  it('accepts the scheme in any case and a client_id in the form that is the same', () => {
    const header = {
      kind: 'single' as const,
      value: basic('backend', 'pw').value.replace('Basic', 'bAsIc'),
    };
    expect(readClientCredentials(header, form('client_id=backend'))).toMatchObject({
      clientId: 'backend',
    });
  });

  it('reads client_secret_post', () => {
    expect(readClientCredentials(absent, form('client_id=backend&client_secret=pw'))).toEqual({
      method: 'client_secret_post',
      clientId: 'backend',
      secret: 'pw',
    });
  });

  it.each([
    ['no authentication', absent, ''],
    ['a client_id alone', absent, 'client_id=backend'],
    ['a Bearer token', { kind: 'single' as const, value: 'Bearer abc' }, ''],
  ])('answers invalid_client (401) to %s', (_name, header, text) => {
    expect(refusal(() => readClientCredentials(header, form(text)))).toEqual({
      error: 'invalid_client',
      status: 401,
    });
  });

  it.each([
    ['both methods', basic('backend', 'pw'), 'client_secret=pw'],
    [
      'both methods, the post one without id',
      basic('backend', 'pw'),
      'client_id=backend&client_secret=pw',
    ],
    ['a form client_id of another client', basic('backend', 'pw'), 'client_id=auth-server'],
    ['a repeated Authorization header', { kind: 'repeated' as const }, ''],
    ['a client_secret without client_id', absent, 'client_secret=pw'],
    [
      'Basic without a colon',
      { kind: 'single' as const, value: `Basic ${Buffer.from('backend').toString('base64')}` },
      '',
    ],
    ['Basic that is not base64', { kind: 'single' as const, value: 'Basic !!!!' }, ''],
    ['Basic without padding', { kind: 'single' as const, value: 'Basic YWI6Y2Q' }, ''],
    ['Basic with an empty secret', basic('backend', ''), ''],
    ['Basic with bad percent-encoding', basic('backend', '%zz'), ''],
  ])('answers invalid_request to %s', (_name, header, text) => {
    expect(refusal(() => readClientCredentials(header, form(text)))).toEqual({
      error: 'invalid_request',
      status: 400,
    });
  });
});

describe(readAudience.name, () => {
  it('reads audience by service name', () => {
    expect(readAudience(form('audience=billing-server'), SERVICE_URLS)).toBe('billing-server');
  });

  it.each([
    ['http://127.0.0.1:6004', 'billing-server'],
    ['http://127.0.0.1:6004/', 'billing-server'],
    ['HTTP://127.0.0.1:6004', 'billing-server'],
    ['http://auth.test', 'auth-server'],
    ['https://files.internal/api/', 'filesystem-server'],
  ])('maps the resource %s to %s', (resource, audience) => {
    const text = `resource=${encodeURIComponent(resource)}`;
    expect(readAudience(form(text), SERVICE_URLS)).toBe(audience);
  });

  it.each([
    ['neither', 'grant_type=client_credentials'],
    ['both', 'audience=billing-server&resource=http%3A%2F%2F127.0.0.1%3A6004'],
  ])('answers invalid_request to %s', (_name, text) => {
    expect(refusal(() => readAudience(form(text), SERVICE_URLS))).toEqual({
      error: 'invalid_request',
      status: 400,
    });
  });

  it.each([
    'audience=mail-server',
    'audience=Billing-Server',
    'resource=http%3A%2F%2F127.0.0.1%3A6005',
    'resource=http%3A%2F%2F127.0.0.1%3A6004%23frag',
    'resource=http%3A%2F%2F127.0.0.1%3A6004%3Fa%3D1',
    'resource=billing-server',
    'resource=https%3A%2F%2F127.0.0.1%3A6004',
    'resource=https%3A%2F%2Ffiles.internal',
  ])('answers invalid_target to %s', (text) => {
    expect(refusal(() => readAudience(form(text), SERVICE_URLS))).toEqual({
      error: 'invalid_target',
      status: 400,
    });
  });
});

describe(readScopes.name, () => {
  it('is undefined without scope, and each scope once otherwise', () => {
    expect(readScopes(form('a=b'))).toBeUndefined();
    expect(readScopes(form('scope='))).toBeUndefined();
    expect(readScopes(form('scope=files%3Aread+files%3Awrite+files%3Aread'))).toEqual([
      'files:read',
      'files:write',
    ]);
  });

  it.each(['scope=+', 'scope=a++b', 'scope=+a', 'scope=a%22b', 'scope=a%5Cb'])(
    'answers invalid_scope to %s',
    (text) => {
      expect(refusal(() => readScopes(form(text)))).toEqual({
        error: 'invalid_scope',
        status: 400,
      });
    },
  );
});
