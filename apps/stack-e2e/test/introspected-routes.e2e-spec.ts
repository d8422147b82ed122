import {
  jsonLogLines,
  request,
  scratchDatabaseFor,
  ServiceIdentityStack,
  type TestResponse,
  testBackends,
} from '@zt/test-kit';
import { setTimeout as sleep } from 'node:timers/promises';

// Billing's money routes with `INTERNAL_AUTH_INTROSPECTION=on` (`@Introspected()`): a revoked
// token, or a revoked client's, stops moving money within the introspection cache's time, not
// at its exp; when the auth server cannot answer they fail closed, and reads go on.
// DESIGN section 9; docs/service-identity.md, "Introspection and revocation".

const CACHE_MS = 1_000;

describe.each(testBackends())('billing money routes that introspect, on %s', (backend) => {
  let sut: ServiceIdentityStack;
  let dropDatabase: () => Promise<void>;

  beforeAll(async () => {
    const database = await scratchDatabaseFor(backend);
    dropDatabase = database.drop;
    sut = await ServiceIdentityStack.launch({
      databaseUrl: database.url,
      billingIntrospectionCacheMs: CACHE_MS,
    });
  }, 240_000);

  afterAll(async () => {
    await sut?.stop();
    await dropDatabase?.();
  });

  const billing = () => sut.url('billing-server');
  // Every token sent to billing, for the log check at the end.
  const sent = new Set<string>();
  const backendToken = () => sut.token('backend', { audience: 'billing-server' });
  const deduct = (token: string, userId: string) =>
    sent.add(token) &&
    request(`${billing()}/deduct`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
      json: { user_id: userId, amount: '0.25', reason: 'file write' },
    });
  const balance = async (token: string, userId: string) =>
    request(`${billing()}/balance/${userId}`, { headers: { Authorization: `Bearer ${token}` } });
  const expectRefusedAsInactive = (answer: TestResponse) => {
    expect({ status: answer.status, body: answer.body }).toEqual({
      status: 401,
      body: { error: 'unauthorized' },
    });
    expect(answer.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
  };

  it('charges with an active token, and stops within the cache time once it is revoked', async () => {
    const userId = await sut.openBillingAccount('pro');
    const token = await backendToken();
    expect(await deduct(token, userId)).toMatchObject({ status: 200, body: { balance: 4.75 } });

    const revoked = await sut.postAsClient('/oauth2/revoke', 'backend', { token });
    expect(revoked.status).toBe(200);
    await sleep(CACHE_MS + 100);
    expectRefusedAsInactive(await deduct(token, userId));
    // A route that verifies locally still honours it until exp: the documented window.
    expect(await balance(token, userId)).toMatchObject({ status: 200, body: { balance: 4.75 } });
    // The backend's next token charges again; nothing was charged in between.
    expect(await deduct(await backendToken(), userId)).toMatchObject({
      status: 200,
      body: { balance: 4.5 },
    });
  });

  it("refuses a revoked client's token on money routes once the auth server has forgotten its secret", async () => {
    const userId = await sut.openBillingAccount('pro');
    const token = await backendToken();
    await sut.restartAuthServer(['backend']);
    try {
      await sleep(CACHE_MS + 100);
      expectRefusedAsInactive(await deduct(token, userId));
    } finally {
      await sut.restartAuthServer();
    }
    expect(await balance(token, userId)).toMatchObject({ status: 200, body: { balance: 5 } });
  }, 240_000);

  it('fails closed (503) while the auth server cannot answer, and reads go on', async () => {
    const userId = await sut.openBillingAccount('pro');
    const token = await backendToken();
    expect(await deduct(token, userId)).toMatchObject({ status: 200 });
    await sut.stack.stop('auth-server');
    try {
      await sleep(CACHE_MS + 100);
      const refused = await deduct(token, userId);
      expect({ status: refused.status, body: refused.body }).toEqual({
        status: 503,
        body: { error: 'auth unavailable' },
      });
      expect(await balance(token, userId)).toMatchObject({
        status: 200,
        body: { balance: 4.75 },
      });
    } finally {
      await sut.stack.start('auth-server');
    }
    expect(await deduct(token, userId)).toMatchObject({ status: 200, body: { balance: 4.5 } });
  }, 240_000);

  it('logs each refusal with its reason, and never a token', async () => {
    const lines = jsonLogLines(sut.stack.process('billing-server'));
    const reasons = lines
      .filter((line) => line['event'] === 'internal_auth_denied')
      .map((line) => line['reason']);
    expect(reasons).toEqual(
      expect.arrayContaining(['token_inactive', 'introspection_unavailable']),
    );
    const output = sut.stack.process('billing-server').output();
    expect(sent.size).toBeGreaterThan(3);
    for (const token of sent) expect(output).not.toContain(token.split('.')[2]);
    expect(output).not.toContain(sut.secretOf('billing-server'));
  });
});
