import { randomBytes } from 'node:crypto';
import { loadRateLimitConfig, RateLimitStore } from '@zt/service-chassis';
import { testRedisUrl } from '@zt/test-kit';
import { FailedLoginThrottle, MAX_FAILED_LOGINS } from './failed-login-throttle';

// Memory always; Redis too when TEST_REDIS_URL is set, where two stores stand for two replicas.
const stores: Array<[string, string | undefined]> = [['memory', undefined]];
const redisUrl = testRedisUrl();
if (redisUrl) stores.push(['redis', redisUrl]);

describe.each(stores)(`${FailedLoginThrottle.name} (%s)`, (_kind, url) => {
  const opened: RateLimitStore[] = [];
  // Each test counts under its own prefix, so runs never see each other's keys.
  let prefix: string;

  const openStore = async () => {
    const store = await RateLimitStore.open(
      loadRateLimitConfig({ REDIS_URL: url, REDIS_KEY_PREFIX: prefix }),
    );
    opened.push(store);
    // With a URL, Redis itself must answer: a count in memory instead would pass unseen.
    expect(store.connected).toBe(url !== undefined);
    return store;
  };
  const fail = async (throttle: FailedLoginThrottle, email: string, times: number) => {
    for (let i = 0; i < times; i += 1) expect(await throttle.reserve(email)).toBe(0);
  };

  beforeEach(() => {
    prefix = `zt-test-${randomBytes(6).toString('hex')}`;
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.onModuleDestroy()));
  });

  it(`lets ${MAX_FAILED_LOGINS} failures through, then refuses that email only`, async () => {
    const sut = new FailedLoginThrottle(await openStore());
    await fail(sut, 'ada@example.com', MAX_FAILED_LOGINS);
    const wait = await sut.reserve('ada@example.com');
    expect(wait).toBeGreaterThan(14 * 60 * 1000);
    expect(wait).toBeLessThanOrEqual(15 * 60 * 1000);
    expect(await sut.reserve('bob@example.com')).toBe(0);
  });

  it('throttles a parallel burst as a sequence: at most the limit get through', async () => {
    const sut = new FailedLoginThrottle(await openStore());
    const waits = await Promise.all(
      Array.from({ length: 3 * MAX_FAILED_LOGINS }, () => sut.reserve('ada@example.com')),
    );
    expect(waits.filter((wait) => wait === 0)).toHaveLength(MAX_FAILED_LOGINS);
  });

  it('forgets the failures of an email on success', async () => {
    const sut = new FailedLoginThrottle(await openStore());
    await fail(sut, 'ada@example.com', MAX_FAILED_LOGINS - 1);
    expect(await sut.reserve('ada@example.com')).toBe(0);
    await sut.recordSuccess('ada@example.com');
    await fail(sut, 'ada@example.com', MAX_FAILED_LOGINS);
    expect(await sut.reserve('ada@example.com')).toBeGreaterThan(0);
  });

  it('gives back an attempt that was never judged', async () => {
    const sut = new FailedLoginThrottle(await openStore());
    await fail(sut, 'ada@example.com', MAX_FAILED_LOGINS);
    await sut.release('ada@example.com');
    expect(await sut.reserve('ada@example.com')).toBe(0);
    expect(await sut.reserve('ada@example.com')).toBeGreaterThan(0);
  });

  it('gives back nothing once the count is forgotten: no extra attempt', async () => {
    const sut = new FailedLoginThrottle(await openStore());
    expect(await sut.reserve('ada@example.com')).toBe(0);
    await sut.recordSuccess('ada@example.com');
    await sut.release('ada@example.com');
    await fail(sut, 'ada@example.com', MAX_FAILED_LOGINS);
    expect(await sut.reserve('ada@example.com')).toBeGreaterThan(0);
  });

  if (url !== undefined) {
    it('holds across two replicas sharing one Redis', async () => {
      const first = new FailedLoginThrottle(await openStore());
      const second = new FailedLoginThrottle(await openStore());
      await fail(first, 'ada@example.com', MAX_FAILED_LOGINS / 2);
      await fail(second, 'ada@example.com', MAX_FAILED_LOGINS / 2);
      expect(await first.reserve('ada@example.com')).toBeGreaterThan(0);
      expect(await second.reserve('ada@example.com')).toBeGreaterThan(0);
      await second.recordSuccess('ada@example.com');
      expect(await first.reserve('ada@example.com')).toBe(0);
    });
  }
});
