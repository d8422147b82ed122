import { randomBytes } from 'node:crypto';
import { ConfigError } from './config.error';
import { DEFAULT_KEY_SET, loadInternalAuthConfig } from './internal-auth.config';

const STRONG = 'q3V9sLk2Xw8RzT1mN6pB4yH7cJ0dF5gA';
const OTHER = 'Z9y8X7w6V5u4T3s2R1q0PoNmLkJiHgFe';

function refusal(env: Record<string, string | undefined>): string {
  try {
    loadInternalAuthConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

describe(loadInternalAuthConfig.name, () => {
  it('sends the token and accepts it', () => {
    expect(loadInternalAuthConfig({ INTERNAL_SERVICE_TOKEN: STRONG })).toEqual({
      sendToken: STRONG,
      acceptedTokens: [STRONG],
      mode: 'token',
    });
  });

  describe('service identity (INTERNAL_AUTH_MODE, INTERNAL_AUTH_SHADOW)', () => {
    const base = { INTERNAL_SERVICE_TOKEN: STRONG, AUTH_SERVER_URL: 'http://auth.internal:6001/' };

    it('verifies service tokens of the issuer at AUTH_SERVER_URL, for this service as audience', () => {
      for (const mode of ['token+jwt', 'jwt'] as const) {
        const sut = loadInternalAuthConfig(
          { ...base, INTERNAL_AUTH_MODE: mode },
          { serviceName: 'billing-server' },
        );
        expect(sut).toMatchObject({
          mode,
          serviceTokens: {
            issuer: 'http://auth.internal:6001',
            jwksUrl: new URL('http://auth.internal:6001/oauth2/jwks'),
            audience: 'billing-server',
          },
        });
      }
      expect(
        loadInternalAuthConfig(
          { ...base, INTERNAL_AUTH_SHADOW: 'jwt' },
          { serviceName: 'billing-server' },
        ),
      ).toMatchObject({
        mode: 'token',
        shadow: 'jwt',
        serviceTokens: { audience: 'billing-server' },
      });
    });

    it('fetches the key set with the JWKS_* settings every JWKS fetch takes, 3 s by default', () => {
      const options = { serviceName: 'billing-server' };
      const mode = { ...base, INTERNAL_AUTH_MODE: 'token+jwt' };
      expect(loadInternalAuthConfig(mode, options).serviceTokens?.keySet).toEqual(DEFAULT_KEY_SET);
      // A fetch that waits at a load balancer while the auth server restarts may need longer.
      expect(
        loadInternalAuthConfig(
          {
            ...mode,
            JWKS_TIMEOUT_MS: '30000',
            JWKS_COOLDOWN_MS: '5000',
            JWKS_CACHE_MAX_AGE_MS: '60000',
          },
          options,
        ).serviceTokens?.keySet,
      ).toEqual({ timeoutMs: 30_000, cooldownMs: 5000, cacheMaxAgeMs: 60_000 });
      expect(() => loadInternalAuthConfig({ ...mode, JWKS_TIMEOUT_MS: '0' }, options)).toThrow(
        new ConfigError('JWKS_TIMEOUT_MS', 'must be a whole number between 100 and 60000'),
      );
    });

    it('refuses an unknown mode, a shadow beside another mode, and a mode without its issuer', () => {
      const named = { serviceName: 'billing-server' };
      expect(() => loadInternalAuthConfig({ ...base, INTERNAL_AUTH_MODE: 'open' }, named)).toThrow(
        expect.objectContaining({ variable: 'INTERNAL_AUTH_MODE' }),
      );
      expect(() =>
        loadInternalAuthConfig(
          { ...base, INTERNAL_AUTH_MODE: 'jwt', INTERNAL_AUTH_SHADOW: 'jwt' },
          named,
        ),
      ).toThrow(expect.objectContaining({ variable: 'INTERNAL_AUTH_SHADOW' }));
      expect(() =>
        loadInternalAuthConfig(
          { INTERNAL_SERVICE_TOKEN: STRONG, INTERNAL_AUTH_MODE: 'jwt' },
          named,
        ),
      ).toThrow(expect.objectContaining({ variable: 'AUTH_SERVER_URL' }));
      // A programming error, not an operator's: the service did not say who it is.
      expect(() => loadInternalAuthConfig({ ...base, INTERNAL_AUTH_MODE: 'jwt' })).toThrow(
        TypeError,
      );
    });

    it("reads this service's client secret, the next one first, and only when the mode needs it", () => {
      const named = { serviceName: 'backend' };
      const current = randomBytes(32).toString('hex');
      const next = randomBytes(32).toString('base64url');
      const jwt = { ...base, INTERNAL_AUTH_MODE: 'token+jwt', BACKEND_CLIENT_SECRET: current };
      expect(loadInternalAuthConfig(jwt, named).serviceClient).toEqual({
        tokenEndpoint: new URL('http://auth.internal:6001/oauth2/token'),
        clientId: 'backend',
        clientSecret: current,
      });
      expect(
        loadInternalAuthConfig({ ...jwt, BACKEND_CLIENT_SECRET_NEXT: next }, named).serviceClient,
      ).toMatchObject({ clientSecret: next });
      // A service that calls nobody runs without one; `token` mode never reads it.
      expect(
        loadInternalAuthConfig({ ...base, INTERNAL_AUTH_MODE: 'jwt' }, named).serviceClient,
      ).toBeUndefined();
      expect(
        loadInternalAuthConfig({ ...base, BACKEND_CLIENT_SECRET: current }, named).serviceClient,
      ).toBeUndefined();
    });

    it('refuses at boot a service that calls others with its token but has no secret', () => {
      const jwt = { ...base, INTERNAL_AUTH_MODE: 'jwt' };
      expect(() =>
        loadInternalAuthConfig(jwt, { serviceName: 'backend', ownTokens: 'token-endpoint' }),
      ).toThrow(expect.objectContaining({ variable: 'BACKEND_CLIENT_SECRET' }));
      // The issuer mints its own; in token mode nobody sends one.
      expect(() =>
        loadInternalAuthConfig(jwt, { serviceName: 'auth-server', ownTokens: 'in-process' }),
      ).not.toThrow();
      expect(() =>
        loadInternalAuthConfig(base, { serviceName: 'backend', ownTokens: 'token-endpoint' }),
      ).not.toThrow();
    });

    it('refuses a weak client secret, naming the variable and not the value', () => {
      const weak = 'abc123abc123abc123abc123abc123abc123';
      const attempt = () =>
        loadInternalAuthConfig(
          { ...base, INTERNAL_AUTH_MODE: 'jwt', BACKEND_CLIENT_SECRET_NEXT: weak },
          { serviceName: 'backend' },
        );
      expect(attempt).toThrow(expect.objectContaining({ variable: 'BACKEND_CLIENT_SECRET_NEXT' }));
      expect(attempt).toThrow(
        expect.not.objectContaining({ message: expect.stringContaining(weak) }),
      );
    });

    it('asks the issuer about tokens (INTERNAL_AUTH_INTROSPECTION=on) as its own client', () => {
      const secret = randomBytes(32).toString('base64url');
      const on = {
        ...base,
        INTERNAL_AUTH_MODE: 'token+jwt',
        INTERNAL_AUTH_INTROSPECTION: 'on',
        BILLING_SERVER_CLIENT_SECRET: secret,
      };
      expect(loadInternalAuthConfig(on, { serviceName: 'billing-server' })).toMatchObject({
        introspection: {
          endpoint: new URL('http://auth.internal:6001/oauth2/introspect'),
          client: { clientId: 'billing-server', clientSecret: secret },
          cacheMs: 5_000,
        },
      });
      expect(
        loadInternalAuthConfig(
          { ...on, INTROSPECTION_CACHE_MS: '0' },
          { serviceName: 'billing-server' },
        ).introspection?.cacheMs,
      ).toBe(0);
      // Off by default, and off says so.
      for (const value of [undefined, 'off']) {
        expect(
          loadInternalAuthConfig(
            { ...on, INTERNAL_AUTH_INTROSPECTION: value },
            { serviceName: 'billing-server' },
          ).introspection,
        ).toBeUndefined();
      }
    });

    it('refuses introspection without a service token to ask about, a secret, or a sane cache', () => {
      const variableOf = (env: Record<string, string | undefined>) => {
        try {
          loadInternalAuthConfig(env, { serviceName: 'billing-server' });
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          return (error as ConfigError).variable;
        }
        throw new Error('expected a ConfigError');
      };
      const on = { ...base, INTERNAL_AUTH_INTROSPECTION: 'on' };
      expect(variableOf(on)).toBe('INTERNAL_AUTH_INTROSPECTION');
      expect(variableOf({ ...on, INTERNAL_AUTH_SHADOW: 'jwt' })).toBe(
        'INTERNAL_AUTH_INTROSPECTION',
      );
      expect(variableOf({ ...on, INTERNAL_AUTH_MODE: 'jwt' })).toBe('BILLING_SERVER_CLIENT_SECRET');
      const withSecret = {
        ...on,
        INTERNAL_AUTH_MODE: 'jwt',
        BILLING_SERVER_CLIENT_SECRET: randomBytes(32).toString('base64url'),
      };
      expect(variableOf({ ...withSecret, INTROSPECTION_CACHE_MS: '60001' })).toBe(
        'INTROSPECTION_CACHE_MS',
      );
      expect(variableOf({ ...withSecret, INTERNAL_AUTH_INTROSPECTION: 'yes' })).toBe(
        'INTERNAL_AUTH_INTROSPECTION',
      );
    });

    it('needs no shared token in jwt mode, and still sends one that is set', () => {
      const env = { AUTH_SERVER_URL: base.AUTH_SERVER_URL, INTERNAL_AUTH_MODE: 'jwt' };
      expect(loadInternalAuthConfig(env, { serviceName: 'billing-server' })).toMatchObject({
        acceptedTokens: [],
        mode: 'jwt',
      });
      expect(
        loadInternalAuthConfig(
          { ...env, INTERNAL_SERVICE_TOKEN: STRONG },
          { serviceName: 'billing-server' },
        ),
      ).toMatchObject({ sendToken: STRONG });
      expect(() =>
        loadInternalAuthConfig(
          { ...env, INTERNAL_AUTH_MODE: 'token+jwt' },
          { serviceName: 'billing-server' },
        ),
      ).toThrow(expect.objectContaining({ variable: 'INTERNAL_SERVICE_TOKEN' }));
    });
  });

  it('accepts the extra tokens of INTERNAL_SERVICE_TOKEN_ACCEPT but never sends them', () => {
    const sut = loadInternalAuthConfig({
      INTERNAL_SERVICE_TOKEN: STRONG,
      INTERNAL_SERVICE_TOKEN_ACCEPT: ` ${OTHER} , ${STRONG}`,
    });
    expect(sut.sendToken).toBe(STRONG);
    expect(sut.acceptedTokens).toEqual([STRONG, OTHER]);
  });

  it.each([
    ['missing', {}, 'INTERNAL_SERVICE_TOKEN is not set'],
    ['empty', { INTERNAL_SERVICE_TOKEN: '' }, 'INTERNAL_SERVICE_TOKEN is empty'],
    [
      'short',
      { INTERNAL_SERVICE_TOKEN: STRONG.slice(0, 31) },
      'INTERNAL_SERVICE_TOKEN is shorter than 32 characters',
    ],
    [
      'low variety',
      { INTERNAL_SERVICE_TOKEN: 'ab'.repeat(20) },
      'INTERNAL_SERVICE_TOKEN has fewer than 12 distinct characters',
    ],
    [
      'the .env.example placeholder',
      { INTERNAL_SERVICE_TOKEN: 'YOUR_GENERATED_TOKEN_HERE_BASE64_32_BYTES' },
      'INTERNAL_SERVICE_TOKEN is a placeholder',
    ],
    [
      'another placeholder',
      { INTERNAL_SERVICE_TOKEN: 'please-changeme-0123456789abcdefghij' },
      'is a placeholder',
    ],
    ['white space inside', { INTERNAL_SERVICE_TOKEN: `${STRONG} x` }, 'contains white space'],
    [
      'a weak accepted token',
      { INTERNAL_SERVICE_TOKEN: STRONG, INTERNAL_SERVICE_TOKEN_ACCEPT: `${OTHER},short` },
      'INTERNAL_SERVICE_TOKEN_ACCEPT entry 2 is shorter than 32 characters',
    ],
  ])('refuses a %s token, naming the variable and never the value', (_label, env, message) => {
    const text = refusal(env);
    expect(text).toContain(message);
    for (const value of Object.values(env)) if (value) expect(text).not.toContain(value);
  });

  describe('METRICS_TOKEN (the read-only scrape credential of GET /metrics)', () => {
    const METRICS = randomBytes(32).toString('base64url');

    it('is optional, and taken in token and token+jwt mode', () => {
      expect(loadInternalAuthConfig({ INTERNAL_SERVICE_TOKEN: STRONG })).not.toHaveProperty(
        'metricsToken',
      );
      expect(
        loadInternalAuthConfig({ INTERNAL_SERVICE_TOKEN: STRONG, METRICS_TOKEN: METRICS }),
      ).toMatchObject({ metricsToken: METRICS });
      const tokenJwt = {
        INTERNAL_SERVICE_TOKEN: STRONG,
        METRICS_TOKEN: METRICS,
        INTERNAL_AUTH_MODE: 'token+jwt',
        AUTH_SERVER_URL: 'http://127.0.0.1:6001',
      };
      expect(loadInternalAuthConfig(tokenJwt, { serviceName: 'backend' })).toMatchObject({
        metricsToken: METRICS,
      });
    });

    it('is ignored in jwt mode, where a scraper brings a metrics:read service token', () => {
      const env = {
        METRICS_TOKEN: 'too-short-but-ignored',
        INTERNAL_AUTH_MODE: 'jwt',
        AUTH_SERVER_URL: 'http://127.0.0.1:6001',
      };
      expect(loadInternalAuthConfig(env, { serviceName: 'backend' })).not.toHaveProperty(
        'metricsToken',
      );
    });

    it.each([
      ['a placeholder', 'YOUR_GENERATED_METRICS_TOKEN_HERE_0123456789abcdefghijklmnop'],
      ['shorter than 256 bits', STRONG],
      ['not hex nor base64url', `${METRICS}+/`],
    ])('refuses %s, naming the variable and not the value', (_, value) => {
      const message = refusal({ INTERNAL_SERVICE_TOKEN: OTHER, METRICS_TOKEN: value });
      expect(message).toMatch(/^METRICS_TOKEN /);
      expect(message).not.toContain(value);
    });

    it('refuses a shared token, which can move money, as the metrics token', () => {
      const shared = randomBytes(32).toString('base64url');
      for (const env of [
        { INTERNAL_SERVICE_TOKEN: shared, METRICS_TOKEN: shared },
        {
          INTERNAL_SERVICE_TOKEN: STRONG,
          INTERNAL_SERVICE_TOKEN_ACCEPT: shared,
          METRICS_TOKEN: shared,
        },
      ]) {
        expect(refusal(env)).toMatch(/^METRICS_TOKEN must differ from INTERNAL_SERVICE_TOKEN/);
      }
    });
  });
});
