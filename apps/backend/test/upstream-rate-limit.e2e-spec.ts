import { testBackends } from '@zt/test-kit';
import { existsSync } from 'node:fs';
import { BackendStack } from './backend-stack';

/**
 * Billing refusing the backend past the backend's allowance (`internal_route`,
 * docs/rate-limits.md): the backend's users get `503 {"error":"billing unavailable"}` with
 * billing's `Retry-After`, not a 500, and nothing is charged or written. The limit is the
 * callee's and counts before any database work: one database is enough.
 */
const ALLOWANCE = 4;

describe('billing refusing the backend past its rate limit', () => {
  const sut = BackendStack.forSuite(testBackends()[0], {
    // Only a verified caller has an allowance of its own; `token` mode is not limited.
    mode: 'token+jwt',
    serviceEnv: {
      // The resolver of pending writes asks billing for its holds every 10 s by default, which
      // would spend the backend's allowance while the test counts: once an hour here.
      backend: { WRITE_SETTLE_INTERVAL_MS: '3600000' },
      'billing-server': {
        RATE_LIMIT_INTERNAL_REQUESTS: String(ALLOWANCE),
        // Long, so that no window ends while the test counts.
        RATE_LIMIT_INTERNAL_WINDOW_SECONDS: '600',
      },
    },
  });

  it('answers 503 billing unavailable with Retry-After, charges nothing and stores nothing', async () => {
    const user = await sut.signUp('pro');
    // Each GET /me is one call of the backend to billing.
    for (let call = 0; call < ALLOWANCE; call += 1) {
      expect(await sut.call(user, '/me')).toMatchObject({ status: 200, body: { balance: 5 } });
    }

    const refused = await sut.call(user, '/me');
    expect(refused).toMatchObject({ status: 503, body: { error: 'billing unavailable' } });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(600);

    const write = await sut.put(user, '/me/files/limited.txt', 'not now');
    expect(write).toMatchObject({ status: 503, body: { error: 'billing unavailable' } });
    expect(existsSync(sut.onDisk(user, 'limited.txt'))).toBe(false);
    // The ledger (read as the operator, whose allowance is its own): the opening only.
    expect((await sut.ledger(user)).map((entry) => entry.kind)).toEqual(['opening']);

    // A limit is not an outage: the backend's breaker did not open; nothing went unhandled.
    const backendLog = sut.stack.process('backend').output();
    expect(backendLog).not.toContain('"unhandled_error"');
    expect(backendLog).not.toContain('"circuit_breaker_state"');
  });
});
