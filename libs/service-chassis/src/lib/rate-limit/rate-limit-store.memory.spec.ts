import { loadRateLimitConfig } from './rate-limit.config';
import { RateLimitStore, spendPoint } from './rate-limit-store';

// The Redis client costs each service about 10 MiB resident once loaded: a store that counts
// in memory must not load it. Any import of it in this file fails.
jest.mock('ioredis', () => {
  throw new Error('ioredis was loaded');
});

describe(`${RateLimitStore.name} without REDIS_URL`, () => {
  it('counts in memory without loading the Redis client', async () => {
    const store = await RateLimitStore.open(loadRateLimitConfig({}));
    expect(store.kind).toBe('memory');
    const limiter = store.limiter('probe', 1, 60);
    expect(await spendPoint(limiter, 'a')).toBe(0);
    expect(await spendPoint(limiter, 'a')).toBeGreaterThan(0);
  });

  it('loads it only when REDIS_URL asks for Redis', async () => {
    await expect(
      RateLimitStore.open(loadRateLimitConfig({ REDIS_URL: 'redis://127.0.0.1:1' })),
    ).rejects.toThrow('ioredis was loaded');
  });
});
