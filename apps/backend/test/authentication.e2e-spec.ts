import { request, testBackends } from '@zt/test-kit';
import { BackendStack } from './backend-stack';

/**
 * Who the backend lets in: a user token checked against the auth server's keys, never the
 * internal credential; health for anyone; the profile of the token's user. The four built
 * services run as processes (./backend-stack.ts), on PGlite and, with TEST_DATABASE_URL, on
 * PostgreSQL.
 */
describe.each(testBackends())('authentication at the backend, on %s', (database) => {
  const sut = BackendStack.forSuite(database);

  it('refuses /me without a token, with 401 unauthorized', async () => {
    expect(await sut.call(undefined, '/me')).toMatchObject({
      status: 401,
      body: { error: 'unauthorized' },
    });
  });

  it('refuses a token whose payload was changed to name another user', async () => {
    const [forger, victim] = [await sut.signUp('pro'), await sut.signUp('free')];
    const [header, payload, signature] = forger.accessToken.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as object;
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: victim.userId })).toString(
      'base64url',
    );
    const response = await request(`${sut.api}/me`, {
      headers: { Authorization: `Bearer ${header}.${forged}.${signature}` },
    });
    expect(response).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
  });

  it('does not take the internal credential for a user credential', async () => {
    const user = await sut.signUp('pro');
    const response = await request(`${sut.api}/me/files`, {
      headers: { 'X-INTERNAL-TOKEN': sut.internalToken, 'X-User-ID': user.userId },
    });
    expect(response).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
  });

  it('refuses a service token, even one the auth server issued for the backend', async () => {
    for (const audience of ['backend', 'billing-server']) {
      const issued = await request(`${sut.url('auth-server')}/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          audience,
          client_id: 'metrics-scraper',
          client_secret: sut.scraperSecret,
        }).toString(),
      });
      expect(issued.status).toBe(200);
      const token = (issued.body as { access_token: string }).access_token;
      const response = await request(`${sut.api}/me`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      expect(response).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
    }
  });

  it('serves health without a token', async () => {
    expect(await request(`${sut.api}/health`)).toMatchObject({
      status: 200,
      body: { status: 'ok', checks: { billing: 'up', filesystem: 'up' } },
    });
  });

  it("shows the token's user with the tier's starting balance from billing", async () => {
    const [pro, free] = [await sut.signUp('pro'), await sut.signUp('free')];
    expect(await sut.call(pro, '/me')).toMatchObject({
      status: 200,
      body: { user_id: pro.userId, email: pro.email, tier: 'pro', balance: 5 },
    });
    expect(await sut.call(free, '/me')).toMatchObject({
      status: 200,
      body: { user_id: free.userId, email: free.email, tier: 'free', balance: 1 },
    });
  });

  it('never logs the internal token nor an access token', async () => {
    const user = await sut.signUp('pro');
    const internal = { 'X-INTERNAL-TOKEN': sut.internalToken };
    expect((await sut.call(user, '/me', { headers: internal })).status).toBe(200);
    expect((await sut.put(user, '/me/files/logged.txt', 'x', internal)).status).toBe(201);
    sut.expectNoSecretInLogs();
  });
});
