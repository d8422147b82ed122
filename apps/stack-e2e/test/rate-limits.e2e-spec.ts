import {
  builtServiceMain,
  readMetric,
  request,
  ServiceIdentityStack,
  type ServiceProcess,
  startServiceProcess,
  testRedisUrl,
} from '@zt/test-kit';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Rate limits per client, not per address, counted in Redis so that they hold across the
// replicas of a service (issue 14 item 2; docs/rate-limits.md): two processes of billing and
// two of the auth server share one Redis, and a client's allowance is spent across both.

const redisUrl = testRedisUrl();
// Without Redis (a developer's machine) the suite cannot run; in CI testRedisUrl() throws.
const describeWithRedis = redisUrl ? describe : describe.skip;

const INTERNAL_REQUESTS = 6;
const OAUTH_REQUESTS = 8;

describeWithRedis('rate limits per client across two replicas sharing Redis', () => {
  let sut: ServiceIdentityStack;
  const replicas: ServiceProcess[] = [];
  const dataDirs: string[] = [];

  // A second process of `name`, as a replica behind a load balancer: the stack's environment
  // and URLs (the issuer's among them), its own port and data folder.
  const startReplica = async (name: 'billing-server' | 'auth-server', portVariable: string) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rate-limit-replica-'));
    dataDirs.push(dataDir);
    const replica = await startServiceProcess({
      main: builtServiceMain(name),
      env: {
        ...sut.stack.environment(name),
        AUTH_SERVER_URL: sut.issuer,
        BILLING_SERVER_URL: sut.url('billing-server'),
        [portVariable]: '0',
        DATA_DIR: dataDir,
      },
      startTimeoutMs: 180_000,
    });
    replicas.push(replica);
    return replica;
  };

  beforeAll(async () => {
    sut = await ServiceIdentityStack.launch({
      env: {
        REDIS_URL: redisUrl as string,
        REDIS_KEY_PREFIX: `zt-e2e-${randomBytes(6).toString('hex')}`,
        // Long windows, so that no window ends while a test counts.
        RATE_LIMIT_INTERNAL_REQUESTS: String(INTERNAL_REQUESTS),
        RATE_LIMIT_INTERNAL_WINDOW_SECONDS: '600',
        RATE_LIMIT_OAUTH_PER_MINUTE: String(OAUTH_REQUESTS),
      },
    });
    await startReplica('billing-server', 'BILLING_SERVER_PORT');
    await startReplica('auth-server', 'AUTH_SERVER_PORT');
  }, 400_000);

  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.stop()));
    await sut?.stop();
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  });

  const [billingReplica, authReplica] = [() => replicas[0].url, () => replicas[1].url];
  const balance = (base: string, token: string) =>
    request(`${base}/balance/00000000-0000-4000-8000-000000000000`, {
      headers: { Authorization: `Bearer ${token}` },
    });

  it("spends one client's allowance at billing across both replicas, and no other client's", async () => {
    const backendToken = await sut.token('backend', { audience: 'billing-server' });
    // Unproven requests first: refused by the guard, they spend nobody's allowance.
    for (let i = 0; i < INTERNAL_REQUESTS; i += 1) {
      expect((await balance(sut.url('billing-server'), 'not-a-token')).status).toBe(401);
    }
    const statuses: number[] = [];
    for (let i = 0; i < INTERNAL_REQUESTS; i += 1) {
      const base = i % 2 === 0 ? sut.url('billing-server') : billingReplica();
      statuses.push((await balance(base, backendToken)).status);
    }
    // Past the guard: an unknown account, but each request counted.
    expect(statuses).toEqual(Array(INTERNAL_REQUESTS).fill(404));

    for (const base of [sut.url('billing-server'), billingReplica()]) {
      const refused = await balance(base, backendToken);
      expect({ status: refused.status, body: refused.body }).toEqual({
        status: 429,
        body: { error: 'too many requests' },
      });
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(600);
    }

    // Another client keeps its own allowance: the auth server's token reads billing's stats.
    const authToken = await sut.token('auth-server', { audience: 'billing-server' });
    const stats = await request(`${billingReplica()}/stats/subscription_count`, {
      headers: { Authorization: `Bearer ${authToken}` },
    });
    expect(stats.status).toBe(200);

    const scraper = await sut.token('metrics-scraper', { audience: 'billing-server' });
    const metrics = await request(`${sut.url('billing-server')}/metrics`, {
      headers: { Authorization: `Bearer ${scraper}` },
    });
    expect(
      readMetric(String(metrics.body), 'rate_limited_requests_total', {
        limit: 'internal_route',
        client: 'backend',
      }),
    ).toBe(1);
  });

  it("spends one client's allowance at the token endpoint across both auth servers", async () => {
    const ask = (issuer: string) =>
      sut.postAsClientAt(issuer, '/oauth2/token', 'operator', {
        grant_type: 'client_credentials',
        audience: 'auth-server',
      });
    const statuses: number[] = [];
    for (let i = 0; i < OAUTH_REQUESTS; i += 1) {
      statuses.push((await ask(i % 2 === 0 ? sut.issuer : authReplica())).status);
    }
    expect(statuses).toEqual(Array(OAUTH_REQUESTS).fill(200));

    const refused = await ask(authReplica());
    expect({ status: refused.status, body: refused.body }).toEqual({
      status: 429,
      body: {
        error: 'temporarily_unavailable',
        error_description:
          'too many requests from this client; try again after Retry-After seconds',
      },
    });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.headers.get('cache-control')).toBe('no-store');
    // Introspection is not counted: a resource server asks on behalf of its callers, and one
    // of them must not be able to use up its allowance (docs/rate-limits.md).
    const introspected = await sut.postAsClientAt(sut.issuer, '/oauth2/introspect', 'operator', {
      token: 'anything',
    });
    expect({ status: introspected.status, body: introspected.body }).toEqual({
      status: 200,
      body: { active: false },
    });

    // Wrong secrets for another client, more than its whole allowance, are refused as
    // invalid_client and spend nothing: the allowance is checked after the client proves itself.
    for (let i = 0; i <= OAUTH_REQUESTS; i += 1) {
      const forged = await request(`${sut.issuer}/oauth2/token`, {
        method: 'POST',
        headers: {
          Authorization: `Basic ${Buffer.from('metrics-scraper:wrong').toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials&audience=billing-server',
      });
      expect(forged.status).toBe(401);
    }
    expect((await sut.requestToken('metrics-scraper', { audience: 'backend' })).status).toBe(200);
  });
});
