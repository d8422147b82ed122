import { ConfigError } from '@zt/service-utils';
import { loadBackendConfig } from './backend.config';

const TOKEN = 'q3V9sLk2Xw8RzT1mN6pB4yH7cJ0dF5gA';

function failure(env: Record<string, string>): ConfigError {
  try {
    loadBackendConfig({ INTERNAL_SERVICE_TOKEN: TOKEN, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe(loadBackendConfig.name, () => {
  it('has working defaults for everything but the internal token', () => {
    const config = loadBackendConfig({ INTERNAL_SERVICE_TOKEN: TOKEN });
    expect(config).toMatchObject({
      service: { name: 'backend', host: '127.0.0.1', port: 8000 },
      authUrl: 'http://127.0.0.1:6001',
      billingUrl: 'http://127.0.0.1:6004',
      filesystemUrl: 'http://127.0.0.1:6002',
      fileWritePrice: '0.01',
      maxFileBytes: 10 * 1024 * 1024,
      uploadBudgetBytes: 64 * 1024 * 1024,
      jwks: { timeoutMs: 3000, cooldownMs: 30_000, cacheMaxAgeMs: 600_000 },
    });
    expect(config.internalAuth.sendToken).toBe(TOKEN);
  });

  it('refuses to start without a strong internal token', () => {
    expect(() => loadBackendConfig({})).toThrow(/INTERNAL_SERVICE_TOKEN/);
    expect(() => loadBackendConfig({ INTERNAL_SERVICE_TOKEN: 'short' })).toThrow(
      /INTERNAL_SERVICE_TOKEN/,
    );
  });

  it('reads the port, the upstream URLs (without a trailing slash) and the price', () => {
    const config = loadBackendConfig({
      INTERNAL_SERVICE_TOKEN: TOKEN,
      BACKEND_PORT: '9000',
      AUTH_SERVER_URL: 'http://auth.internal:7001/',
      BILLING_SERVER_URL: 'https://billing.internal',
      FILESYSTEM_SERVER_URL: 'http://fs.internal:7002',
      FILE_WRITE_PRICE: '0.4',
    });
    expect(config).toMatchObject({
      service: { port: 9000 },
      authUrl: 'http://auth.internal:7001',
      billingUrl: 'https://billing.internal',
      filesystemUrl: 'http://fs.internal:7002',
      fileWritePrice: '0.4',
    });
  });

  it.each(['0', '0.0', '-1', '0.0000001', '1e-2', ' 0.01x', '1000000.000001', 'abc', '.5', '01'])(
    'refuses FILE_WRITE_PRICE=%p',
    (price) => {
      expect(failure({ FILE_WRITE_PRICE: price }).variable).toBe('FILE_WRITE_PRICE');
    },
  );

  it.each(['0.000001', '1', '1000000', '2.5'])('accepts FILE_WRITE_PRICE=%p', (price) => {
    expect(
      loadBackendConfig({ INTERNAL_SERVICE_TOKEN: TOKEN, FILE_WRITE_PRICE: price }).fileWritePrice,
    ).toBe(price);
  });

  it.each([
    ['AUTH_SERVER_URL', 'ftp://auth'],
    ['BILLING_SERVER_URL', 'http://user:secret@billing'],
    ['FILESYSTEM_SERVER_URL', 'not a url'],
    ['AUTH_SERVER_URL', 'http://auth?x=1'],
  ])('refuses %s=%p without echoing it', (variable, value) => {
    const error = failure({ [variable]: value });
    expect(error.variable).toBe(variable);
    expect(error.message).not.toContain(value);
  });

  it('takes the upload limit from BACKEND_MAX_FILE_BYTES, else FS_MAX_FILE_BYTES', () => {
    const both = { INTERNAL_SERVICE_TOKEN: TOKEN, FS_MAX_FILE_BYTES: '2048' };
    expect(loadBackendConfig(both).maxFileBytes).toBe(2048);
    expect(loadBackendConfig({ ...both, BACKEND_MAX_FILE_BYTES: '4096' }).maxFileBytes).toBe(4096);
    expect(failure({ BACKEND_MAX_FILE_BYTES: '0' }).variable).toBe('BACKEND_MAX_FILE_BYTES');
    expect(failure({ FS_MAX_FILE_BYTES: '10MB' }).variable).toBe('FS_MAX_FILE_BYTES');
  });

  it('reads the upload budget, and refuses one below the largest upload at boot', () => {
    const env = { INTERNAL_SERVICE_TOKEN: TOKEN, BACKEND_MAX_FILE_BYTES: '4096' };
    expect(
      loadBackendConfig({ ...env, BACKEND_UPLOAD_BUDGET_BYTES: '8192' }).uploadBudgetBytes,
    ).toBe(8192);
    // Exactly one largest upload at a time is the least that works.
    expect(
      loadBackendConfig({ ...env, BACKEND_UPLOAD_BUDGET_BYTES: '4096' }).uploadBudgetBytes,
    ).toBe(4096);

    const below = failure({ ...env, BACKEND_UPLOAD_BUDGET_BYTES: '4095' });
    expect(below.variable).toBe('BACKEND_UPLOAD_BUDGET_BYTES');
    expect(below.message).toBe(
      'BACKEND_UPLOAD_BUDGET_BYTES must be at least the largest upload, 4096 bytes ' +
        "(BACKEND_MAX_FILE_BYTES, else FS_MAX_FILE_BYTES; the budget's default is 67108864)",
    );
    // The fallback limit counts too, and so does the default budget.
    expect(
      failure({ FS_MAX_FILE_BYTES: '8192', BACKEND_UPLOAD_BUDGET_BYTES: '8191' }).variable,
    ).toBe('BACKEND_UPLOAD_BUDGET_BYTES');
    expect(failure({ BACKEND_MAX_FILE_BYTES: String(64 * 1024 * 1024 + 1) }).variable).toBe(
      'BACKEND_UPLOAD_BUDGET_BYTES',
    );
    for (const value of ['0', '-1', '64MiB', '1.5']) {
      expect(failure({ BACKEND_UPLOAD_BUDGET_BYTES: value }).variable).toBe(
        'BACKEND_UPLOAD_BUDGET_BYTES',
      );
    }
  });

  it('bounds the JWKS settings', () => {
    expect(failure({ JWKS_COOLDOWN_MS: '0' }).variable).toBe('JWKS_COOLDOWN_MS');
    expect(failure({ JWKS_TIMEOUT_MS: '99' }).variable).toBe('JWKS_TIMEOUT_MS');
    expect(failure({ JWKS_CACHE_MAX_AGE_MS: 'soon' }).variable).toBe('JWKS_CACHE_MAX_AGE_MS');
  });

  it('sends no user proof by default; USER_PROOF=required exchanges as the backend client', () => {
    expect(loadBackendConfig({ INTERNAL_SERVICE_TOKEN: TOKEN }).userProof).toEqual({ mode: 'off' });
    const secret = 'Zb7yQ2mV9kL4xN8pR3tW6sD1fG5hJ0cA-uE7iO2aB4e';
    const config = loadBackendConfig({
      INTERNAL_SERVICE_TOKEN: TOKEN,
      INTERNAL_AUTH_MODE: 'token+jwt',
      AUTH_SERVER_URL: 'http://auth.test',
      BACKEND_CLIENT_SECRET: secret,
      USER_PROOF: 'required',
    });
    expect(config.userProof).toMatchObject({
      mode: 'required',
      client: { clientId: 'backend', tokenEndpoint: new URL('http://auth.test/oauth2/token') },
    });
  });

  it('refuses USER_PROOF=required without service identity, and an unknown value', () => {
    const error = failure({ USER_PROOF: 'required' });
    expect(error.variable).toBe('USER_PROOF');
    expect(error.message).toMatch(/INTERNAL_AUTH_MODE token\+jwt or jwt/);
    expect(failure({ USER_PROOF: 'send' }).variable).toBe('USER_PROOF');
  });
});
