import { ConfigError } from '../config/config.error';
import type { InternalAuthConfig } from '../config/internal-auth.config';
import { ServiceTokenUnavailableError } from '../tokens/service-token-unavailable.error';
import { InternalCallCredentials, serviceTokenSending } from './internal-call-credentials';

const SHARED = 'q3V9sLk2Xw8RzT1mN6pB4yH7cJ0dF5gA';
const auth = (extra: Partial<InternalAuthConfig>): InternalAuthConfig => ({
  sendToken: SHARED,
  acceptedTokens: [SHARED],
  serviceTokens: {
    issuer: 'http://auth.internal',
    jwksUrl: new URL('http://auth.internal/oauth2/jwks'),
    audience: 'backend',
    keySet: { timeoutMs: 1000, cooldownMs: 1000, cacheMaxAgeMs: 1000 },
  },
  ...extra,
});

describe(InternalCallCredentials.name, () => {
  let asked = 0;
  let clock = 0;
  const fetcher = async (audience: string) => {
    asked += 1;
    return { accessToken: `${audience}-${asked}`, expiresInSeconds: 300 };
  };
  const credentials = (config: InternalAuthConfig) =>
    new InternalCallCredentials(config, { timeoutMs: 500, fetcher, now: () => clock });

  beforeEach(() => {
    asked = 0;
    clock = 1_000_000;
  });

  it.each([
    [{ mode: 'token' as const }, 'off'],
    [{ mode: 'token' as const, shadow: 'jwt' as const }, 'best-effort'],
    [{ mode: 'token+jwt' as const }, 'required'],
    [{ mode: 'jwt' as const }, 'required'],
  ])('sends service tokens as %j says: %s', (extra, sending) => {
    expect(serviceTokenSending(auth(extra))).toBe(sending);
  });

  it('renews a token refused as invalid by the guard, and nothing else', async () => {
    const sut = credentials(auth({ mode: 'jwt' }));
    const sent = await sut.forCall('billing-server');
    clock += 10_000;
    const answer = (status: number, challenge: string) => ({
      status,
      headers: { 'www-authenticate': challenge },
    });
    expect(
      sut.refusedToken('billing-server', sent, answer(403, 'Bearer error="invalid_token"')),
    ).toBe(false);
    expect(sut.refusedToken('billing-server', sent, answer(401, 'Basic realm="x"'))).toBe(false);
    expect(
      sut.refusedToken('billing-server', sent, answer(401, 'Bearer error="insufficient_scope"')),
    ).toBe(false);
    expect(
      sut.refusedToken('billing-server', sent, answer(401, 'Bearer error="invalid_token"')),
    ).toBe(true);
    expect((await sut.forCall('billing-server')).serviceToken).toBe('billing-server-2');
  });

  it('needs a way to get tokens in the modes that send them, naming the secret', () => {
    expect(
      () => new InternalCallCredentials(auth({ mode: 'token+jwt' }), { timeoutMs: 500 }),
    ).toThrow(expect.objectContaining({ variable: 'BACKEND_CLIENT_SECRET' }));
    expect(
      () => new InternalCallCredentials(auth({ mode: 'token' }), { timeoutMs: 500 }),
    ).not.toThrow();
    expect(() => new InternalCallCredentials(auth({ mode: 'jwt' }), { timeoutMs: 500 })).toThrow(
      ConfigError,
    );
  });

  it('in shadow mode never waits: the first call goes without, the next with the token', async () => {
    const sut = credentials(auth({ mode: 'token', shadow: 'jwt' }));
    expect(await sut.forCall('billing-server')).toEqual({
      headers: { 'X-INTERNAL-TOKEN': SHARED },
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(await sut.forCall('billing-server')).toEqual({
      headers: { 'X-INTERNAL-TOKEN': SHARED, Authorization: 'Bearer billing-server-1' },
      serviceToken: 'billing-server-1',
    });
  });

  it('fails a call in the required modes when no token can be had', async () => {
    const sut = new InternalCallCredentials(auth({ mode: 'token+jwt' }), {
      timeoutMs: 500,
      fetcher: async (audience) => {
        throw new ServiceTokenUnavailableError(audience, 'refused', 'invalid_client');
      },
    });
    await expect(sut.forCall('billing-server')).rejects.toBeInstanceOf(
      ServiceTokenUnavailableError,
    );
  });
});
