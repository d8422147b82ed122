import { Logger } from '@nestjs/common';
import { ConfigError } from '@zt/service-utils';
import { randomBytes } from 'node:crypto';
import { ServiceMetrics } from '../metrics/service-metrics';
import { ClientRateLimit } from './client-rate-limit';
import { loadRateLimitConfig } from './rate-limit.config';
import { RateLimitStore, spendPoint } from './rate-limit-store';

const prefix = () => `zt-test-${randomBytes(6).toString('hex')}`;

describe(loadRateLimitConfig.name, () => {
  it('counts in memory, 1000 internal requests a second per client, by default', () => {
    expect(loadRateLimitConfig({})).toEqual({
      redisUrl: undefined,
      keyPrefix: 'zt',
      internalRequests: 1000,
      internalWindowSeconds: 1,
    });
  });

  it('refuses a REDIS_URL that is not redis: or rediss:, without echoing it', () => {
    const read = () => loadRateLimitConfig({ REDIS_URL: 'http://user:hunter2@cache:6379' });
    const unparsable = () => loadRateLimitConfig({ REDIS_URL: 'redis://:hunter2@[bad' });
    expect(unparsable).toThrow('REDIS_URL must be a redis:// or rediss:// URL');
    expect(unparsable).not.toThrow(/hunter2/);
    expect(read).toThrow(ConfigError);
    expect(read).toThrow('REDIS_URL must be a redis:// or rediss:// URL');
    expect(read).not.toThrow(/hunter2/);
  });

  it('refuses a key prefix that could collide or spread, and an out-of-range limit', () => {
    expect(() => loadRateLimitConfig({ REDIS_KEY_PREFIX: 'a b' })).toThrow(/REDIS_KEY_PREFIX/);
    expect(() => loadRateLimitConfig({ RATE_LIMIT_INTERNAL_REQUESTS: '-1' })).toThrow(
      /RATE_LIMIT_INTERNAL_REQUESTS/,
    );
    expect(() => loadRateLimitConfig({ RATE_LIMIT_INTERNAL_WINDOW_SECONDS: '0' })).toThrow(
      /RATE_LIMIT_INTERNAL_WINDOW_SECONDS/,
    );
  });
});

describe(RateLimitStore.name, () => {
  let warn: jest.SpyInstance;
  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => warn.mockRestore());

  it('counts each key apart in memory when REDIS_URL is unset', async () => {
    const store = await RateLimitStore.open(loadRateLimitConfig({ REDIS_KEY_PREFIX: prefix() }));
    expect(store.kind).toBe('memory');
    const limiter = store.limiter('probe', 2, 60);
    expect(await spendPoint(limiter, 'a')).toBe(0);
    expect(await spendPoint(limiter, 'a')).toBe(0);
    const wait = await spendPoint(limiter, 'a');
    // Most of the minute: what passed since the first spend is the test's own pace.
    expect(wait).toBeGreaterThan(50_000);
    expect(wait).toBeLessThanOrEqual(60_000);
    expect(await spendPoint(limiter, 'b')).toBe(0);
  });

  it('keeps counting in memory while Redis cannot be reached, and says so once', async () => {
    // Nothing listens on port 1.
    const store = await RateLimitStore.open(
      loadRateLimitConfig({
        REDIS_URL: 'redis://:hunter2@127.0.0.1:1',
        REDIS_KEY_PREFIX: prefix(),
      }),
    );
    try {
      expect(store.connected).toBe(false);
      const limiter = store.limiter('probe', 1, 60);
      expect(await spendPoint(limiter, 'a')).toBe(0);
      expect(await spendPoint(limiter, 'a')).toBeGreaterThan(0);
      const lines = warn.mock.calls.filter(
        ([line]) => (line as { event?: string }).event === 'rate_limit_store_unavailable',
      );
      expect(lines).toHaveLength(1);
      expect(JSON.stringify(lines)).not.toContain('hunter2');
    } finally {
      await store.onModuleDestroy();
    }
  });
});

describe(ClientRateLimit.name, () => {
  it('gives each client its own allowance and counts refusals by client', async () => {
    const store = await RateLimitStore.open(loadRateLimitConfig({ REDIS_KEY_PREFIX: prefix() }));
    const metrics = new ServiceMetrics({ serviceName: 'probe', processMetrics: false });
    const sut = new ClientRateLimit(store, metrics, 'probe', { requests: 1, windowSeconds: 60 });
    expect(await sut.admit('backend')).toBe(0);
    expect(await sut.admit('backend')).toBeGreaterThan(0);
    expect(await sut.admit('auth-server')).toBe(0);
    const exposition = await metrics.registry.metrics();
    expect(exposition).toContain(
      'rate_limited_requests_total{limit="internal_route",client="backend",service="probe"} 1',
    );
    expect(exposition).not.toContain('client="auth-server"');
  });
});
