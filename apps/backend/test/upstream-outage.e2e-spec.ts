import { request, testBackends, type TestResponse, type TestUser } from '@zt/test-kit';
import { setTimeout as sleep } from 'node:timers/promises';
import { BackendStack, CLIENT_TIMEOUT_MS } from './backend-stack';

/**
 * Billing stopped under the backend (its process, as a crash or a deploy would): the backend
 * answers 503 at once once its breaker is open, charges and writes nothing meanwhile, and
 * recovers by itself when billing is back on the same port with the same data. Each test
 * stops billing itself and leaves it running again.
 */
describe.each(testBackends())('when billing goes down and comes back, on %s', (database) => {
  const sut = BackendStack.forSuite(database);

  const billing = () => sut.stack.process('billing-server');

  /** Starts billing again if it is down, and waits until the backend calls it again. */
  async function billingBack(user: TestUser): Promise<TestResponse> {
    if (!billing().running) await sut.stack.start('billing-server');
    let response = await sut.call(user, '/me');
    for (let attempt = 0; response.status === 503 && attempt < 200; attempt += 1) {
      await sleep(25);
      response = await sut.call(user, '/me');
    }
    return response;
  }

  it('answers 503 billing unavailable, fast once the breaker is open, and writes nothing', async () => {
    const user = await sut.signUp('pro');
    await sut.stack.stop('billing-server');
    try {
      const elapsed: number[] = [];
      let health: TestResponse | undefined;
      // Until the breaker opens: how many failures that takes depends on how many calls were
      // made within the breaker's rolling window.
      for (let i = 0; i < 60; i += 1) {
        const started = performance.now();
        const response =
          i % 2 === 0
            ? await sut.put(user, `/me/files/outage-${i}.txt`, 'during the outage')
            : await sut.call(user, '/me');
        elapsed.push(Math.round(performance.now() - started));
        expect(response).toMatchObject({ status: 503, body: { error: 'billing unavailable' } });
        if (i >= 7) {
          health = await request(`${sut.api}/health`);
          if (health.status === 503) break;
        }
      }
      console.log(
        `[${database}] billing down: 503 answer times in ms, in order: ${elapsed.join(', ')}`,
      );

      // The answer that ended the loop: asked again, it could find the breaker half-open
      // already (CIRCUIT_BREAKER_RESET_MS is 300 here).
      expect(health).toMatchObject({
        status: 503,
        body: { checks: { billing: 'down', filesystem: 'up' } },
      });
      const started = performance.now();
      const fast = await sut.call(user, '/me');
      const fastMs = performance.now() - started;
      console.log(`[${database}] billing down, breaker open: 503 in ${fastMs.toFixed(1)} ms`);
      expect(fast).toMatchObject({ status: 503, body: { error: 'billing unavailable' } });
      expect(fastMs).toBeLessThan(CLIENT_TIMEOUT_MS);

      // The filesystem still works, and nothing of the refused writes reached it.
      const listing = await sut.call(user, '/me/files');
      expect(listing.status).toBe(200);
      const paths = (listing.body as { files: Array<{ path: string }> }).files.map((f) => f.path);
      expect(paths.filter((path) => path.startsWith('outage'))).toEqual([]);
    } finally {
      await billingBack(user);
    }
  });

  it('recovers by itself once billing is back on the same port with the same data', async () => {
    const user = await sut.signUp('pro');
    const port = new URL(billing().url).port;
    await sut.stack.stop('billing-server');
    let response: TestResponse;
    try {
      // Writes refused during the outage, until the breaker opens.
      for (let i = 0; i < 8; i += 1) {
        const refused = await sut.put(user, `/me/files/outage-${i}.txt`, 'during the outage');
        expect(refused).toMatchObject({ status: 503, body: { error: 'billing unavailable' } });
      }
    } finally {
      const restartedAt = performance.now();
      await sut.stack.start('billing-server');
      const listening = performance.now();
      response = await billingBack(user);
      const recovered = performance.now();
      console.log(
        `[${database}] billing restarted: ready after ${(listening - restartedAt).toFixed(0)} ms, ` +
          `first backend success ${(recovered - listening).toFixed(0)} ms after that`,
      );
    }
    expect(new URL(billing().url).port).toBe(port);
    // Nothing was charged during the outage.
    expect(response).toMatchObject({ status: 200, body: { balance: 5 } });

    const write = await sut.put(user, '/me/files/after.txt', 'billing is back');
    expect(write).toMatchObject({ status: 201, body: { charged: 0.01, balance: 4.99 } });
    const entries = await sut.ledger(user);
    expect(entries.reduce((sum, entry) => sum + entry.amount * 1e6, 0) / 1e6).toBeCloseTo(4.99, 6);
    expect(await request(`${sut.api}/health`)).toMatchObject({ status: 200 });
  });

  it('never logs the internal token nor an access token', () => {
    sut.expectNoSecretInLogs();
  });
});
