import { Logger } from '@nestjs/common';
import {
  type ObtainedServiceToken,
  ServiceTokenCache,
  type ServiceTokenFetcher,
} from './service-token-cache';
import { ServiceTokenUnavailableError } from './service-token-unavailable.error';

/** A fetcher whose answers the test releases one by one, counting what was asked. */
function scriptedFetcher() {
  const asked: string[] = [];
  const waiting: Array<{
    resolve: (token: ObtainedServiceToken) => void;
    reject: (error: Error) => void;
  }> = [];
  const next = () => {
    const request = waiting.shift();
    if (!request) throw new Error('no token request is waiting');
    return request;
  };
  const fetcher: ServiceTokenFetcher = (audience) => {
    asked.push(audience);
    return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  };
  return {
    fetcher,
    asked,
    grant: (accessToken: string, expiresInSeconds = 300) =>
      next().resolve({ accessToken, expiresInSeconds }),
    fail: (error: Error = new ServiceTokenUnavailableError('billing-server', 'unreachable')) =>
      next().reject(error),
    pending: () => waiting.length,
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe(ServiceTokenCache.name, () => {
  let clock: number;
  const now = () => clock;
  let warnings: Array<Record<string, unknown>>;

  beforeEach(() => {
    clock = 1_000_000;
    warnings = [];
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((entry: unknown) => {
      warnings.push(entry as Record<string, unknown>);
    });
  });
  afterEach(() => jest.restoreAllMocks());

  it('fetches one token per audience and hands it out from the cache until it is due', async () => {
    const issuer = scriptedFetcher();
    const cache = new ServiceTokenCache(issuer.fetcher, { now });
    const first = cache.token('billing-server');
    issuer.grant('token-b1');
    await expect(first).resolves.toBe('token-b1');

    clock += 239_000; // 61 s before expiry: not yet due (refresh 60 s before)
    await expect(cache.token('billing-server')).resolves.toBe('token-b1');
    const other = cache.token('filesystem-server');
    issuer.grant('token-f1');
    await expect(other).resolves.toBe('token-f1');

    expect(issuer.asked).toEqual(['billing-server', 'filesystem-server']);
    expect(cache.counts()).toEqual({ cached: 1, fetched: 2, stale: 0, failed: 0 });
  });

  it('makes one request however many calls wait for a token (single flight)', async () => {
    const issuer = scriptedFetcher();
    const cache = new ServiceTokenCache(issuer.fetcher, { now });
    const calls = Array.from({ length: 50 }, () => cache.token('billing-server'));
    await settle();
    expect(issuer.pending()).toBe(1);
    issuer.grant('token-b1');
    await expect(Promise.all(calls)).resolves.toEqual(Array(50).fill('token-b1'));
    expect(issuer.asked).toHaveLength(1);
  });

  it('replaces a token due for refresh in the background, while calls go on with it', async () => {
    const issuer = scriptedFetcher();
    const cache = new ServiceTokenCache(issuer.fetcher, { now });
    const first = cache.token('billing-server');
    issuer.grant('token-b1');
    await first;

    clock += 241_000; // 59 s before expiry: due
    await expect(cache.token('billing-server')).resolves.toBe('token-b1');
    await expect(cache.token('billing-server')).resolves.toBe('token-b1');
    expect(issuer.pending()).toBe(1); // one replacement under way, not two
    issuer.grant('token-b2');
    await settle();
    await expect(cache.token('billing-server')).resolves.toBe('token-b2');
  });

  it('goes on with the cached token while the issuer is down, and fails once it has expired', async () => {
    const issuer = scriptedFetcher();
    const cache = new ServiceTokenCache(issuer.fetcher, { now });
    const first = cache.token('billing-server');
    issuer.grant('token-b1');
    await first;

    clock += 250_000; // due: the replacement fails
    await expect(cache.token('billing-server')).resolves.toBe('token-b1');
    issuer.fail();
    await settle();
    expect(warnings).toContainEqual({
      event: 'service_token_fetch_failed',
      audience: 'billing-server',
      reason: 'unreachable',
      cached_token: true,
    });
    // Within a second of the failure the issuer is not asked again.
    await expect(cache.token('billing-server')).resolves.toBe('token-b1');
    expect(issuer.pending()).toBe(0);

    clock += 1_000; // asked again: fails again
    await expect(cache.token('billing-server')).resolves.toBe('token-b1');
    issuer.fail();
    await settle();

    clock += 40_000; // 10 s before expiry: no longer sent
    const expired = cache.token('billing-server');
    issuer.fail();
    await expect(expired).rejects.toMatchObject({ reason: 'unreachable' });
    // ... and calls within a second of that failure fail at once, without asking.
    await expect(cache.token('billing-server')).rejects.toBeInstanceOf(
      ServiceTokenUnavailableError,
    );
    expect(issuer.pending()).toBe(0);
    expect(cache.counts()).toMatchObject({ fetched: 1, failed: 2 });
  });

  it('forgets a token its callee refused, once however many calls report it', async () => {
    const issuer = scriptedFetcher();
    const cache = new ServiceTokenCache(issuer.fetcher, { now });
    const first = cache.token('billing-server');
    issuer.grant('token-b1');
    await first;

    clock += 6_000;
    expect(cache.invalidate('billing-server', 'token-b1')).toBe(true);
    const renewed = cache.token('billing-server');
    issuer.grant('token-b2');
    await expect(renewed).resolves.toBe('token-b2');
    // A late report about the old token leaves the new one alone (and the call may go again).
    expect(cache.invalidate('billing-server', 'token-b1')).toBe(true);
    await expect(cache.token('billing-server')).resolves.toBe('token-b2');
    expect(issuer.asked).toHaveLength(2);
  });

  it('keeps a token refused within 5 s of its fetch: a new one would fare no better', async () => {
    const issuer = scriptedFetcher();
    const cache = new ServiceTokenCache(issuer.fetcher, { now });
    const first = cache.token('billing-server');
    issuer.grant('token-b1');
    await first;
    clock += 4_000;
    expect(cache.invalidate('billing-server', 'token-b1')).toBe(false);
    await expect(cache.token('billing-server')).resolves.toBe('token-b1');
    expect(issuer.asked).toHaveLength(1);
  });

  it('counts the cooldown from the failure, not from the request: a slow failure still spaces the next', async () => {
    // The issuer takes 3 s to fail (a request that times out).
    let asked = 0;
    const cache = new ServiceTokenCache(
      async (audience) => {
        asked += 1;
        clock += 3_000;
        throw new ServiceTokenUnavailableError(audience, 'unreachable');
      },
      { now },
    );
    await expect(cache.token('billing-server')).rejects.toMatchObject({ reason: 'unreachable' });
    await expect(cache.token('billing-server')).rejects.toMatchObject({ reason: 'unreachable' });
    expect(asked).toBe(1);
    clock += 1_000;
    await expect(cache.token('billing-server')).rejects.toMatchObject({ reason: 'unreachable' });
    expect(asked).toBe(2);
  });

  it('hands out a token without waiting, or none while one is fetched beside (shadow mode)', async () => {
    const issuer = scriptedFetcher();
    const cache = new ServiceTokenCache(issuer.fetcher, { now });
    expect(cache.tokenIfReady('billing-server')).toBeUndefined();
    expect(cache.tokenIfReady('billing-server')).toBeUndefined();
    expect(issuer.pending()).toBe(1);
    issuer.grant('token-b1');
    await settle();
    expect(cache.tokenIfReady('billing-server')).toBe('token-b1');
    expect(issuer.asked).toHaveLength(1);
  });

  it('refreshes a short-lived token at half its lifetime and stops sending it near its end', async () => {
    const issuer = scriptedFetcher();
    const cache = new ServiceTokenCache(issuer.fetcher, { now });
    const first = cache.token('billing-server');
    issuer.grant('token-b1', 60);
    await first;
    clock += 29_000;
    await cache.token('billing-server');
    expect(issuer.pending()).toBe(0);
    clock += 2_000; // past half of 60 s
    await cache.token('billing-server');
    expect(issuer.pending()).toBe(1);
  });

  it('reports an error of the fetcher that is not its own as an invalid response, never its text', async () => {
    const cache = new ServiceTokenCache(() => Promise.reject(new Error('secret-ish detail')), {
      now,
    });
    const error = await cache.token('billing-server').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceTokenUnavailableError);
    expect((error as Error).message).toBe('no service token for billing-server: invalid_response');
  });
});
