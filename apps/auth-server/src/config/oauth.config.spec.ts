import { ConfigError } from '@zt/service-utils';
import { randomBytes } from 'node:crypto';
import { SERVICE_CLIENTS, type ServiceClientPolicy } from '@zt/contracts';
import { loadOAuthConfig } from './oauth.config';

const OWN = { authServerUrl: 'http://127.0.0.1:6001', billingServerUrl: 'http://127.0.0.1:6004' };
const secret = () => randomBytes(32).toString('base64url');
const load = (env: Record<string, string>) => loadOAuthConfig(env, SERVICE_CLIENTS, OWN);
const errorOf = (run: () => unknown): ConfigError => {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('no ConfigError');
};

describe(loadOAuthConfig.name, () => {
  it('starts without any client secret: no client can authenticate', () => {
    const config = load({});
    expect([...config.clientSecrets.keys()].sort()).toEqual(
      SERVICE_CLIENTS.map((client) => client.clientId).sort(),
    );
    expect([...config.clientSecrets.values()].map((digests) => digests.count)).toEqual(
      SERVICE_CLIENTS.map(() => 0),
    );
  });

  it("reads each client's secret and, during a rotation, its next one, as digests", () => {
    const current = secret();
    const next = secret();
    const config = load({
      BACKEND_CLIENT_SECRET: current,
      BACKEND_CLIENT_SECRET_NEXT: next,
      AUTH_SERVER_CLIENT_SECRET: secret(),
    });
    const backend = config.clientSecrets.get('backend');
    expect(backend?.count).toBe(2);
    expect(backend?.matches(current)).toBe(true);
    expect(backend?.matches(next)).toBe(true);
    expect(config.clientSecrets.get('auth-server')?.count).toBe(1);
    expect(config.clientSecrets.get('auth-server')?.matches(current)).toBe(false);
  });

  it('has defaults: 300 s tokens, 30-day keys, the services at their default URLs', () => {
    expect(load({})).toMatchObject({
      tokenTtlSeconds: 300,
      keyRotationDays: 30,
      signingKeysFile: undefined,
      serviceUrls: {
        'auth-server': 'http://127.0.0.1:6001',
        'billing-server': 'http://127.0.0.1:6004',
        'filesystem-server': 'http://127.0.0.1:6002',
        backend: 'http://127.0.0.1:8000',
      },
    });
  });

  it('reads the token lifetime, at most 10 minutes', () => {
    expect(load({ SERVICE_TOKEN_TTL_SECONDS: '120' }).tokenTtlSeconds).toBe(120);
    expect(errorOf(() => load({ SERVICE_TOKEN_TTL_SECONDS: '601' })).variable).toBe(
      'SERVICE_TOKEN_TTL_SECONDS',
    );
  });

  it.each([
    ['BACKEND_CLIENT_SECRET', { BACKEND_CLIENT_SECRET: randomBytes(31).toString('base64url') }],
    ['AUTH_SERVER_CLIENT_SECRET', { AUTH_SERVER_CLIENT_SECRET: 'x'.repeat(64) }],
    [
      'BACKEND_CLIENT_SECRET_NEXT',
      { BACKEND_CLIENT_SECRET: secret(), BACKEND_CLIENT_SECRET_NEXT: 'too-short-0123456789' },
    ],
    ['BACKEND_CLIENT_SECRET_NEXT', { BACKEND_CLIENT_SECRET_NEXT: secret() }],
    ['FILESYSTEM_SERVER_URL', { FILESYSTEM_SERVER_URL: 'not a url' }],
  ])('refuses to start, naming %s and never the value', (variable, env) => {
    const error = errorOf(() => load(env));
    expect(error.variable).toBe(variable);
    expect(error.message.startsWith(variable)).toBe(true);
    for (const value of Object.values(env)) expect(error.message).not.toContain(value);
  });

  it('refuses the same secret as current and next', () => {
    const same = secret();
    const error = errorOf(() =>
      load({ BACKEND_CLIENT_SECRET: same, BACKEND_CLIENT_SECRET_NEXT: same }),
    );
    expect(error.message).toBe(
      'BACKEND_CLIENT_SECRET_NEXT is the same secret as BACKEND_CLIENT_SECRET',
    );
  });

  it('refuses an unsound policy', () => {
    const broken = [
      { clientId: 'x', description: '', audiences: { backend: ['files:read'] } },
    ] as unknown as ServiceClientPolicy[];
    expect(errorOf(() => loadOAuthConfig({}, broken, OWN)).message).toBe(
      'SERVICE_CLIENTS policy is unsound: x: backend has no scope "files:read"',
    );
  });
});
