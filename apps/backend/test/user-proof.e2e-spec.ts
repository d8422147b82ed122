import {
  postAsClient,
  request,
  testBackends,
  type TestResponse,
  type TestUser,
} from '@zt/test-kit';
import { existsSync } from 'node:fs';
import { BackendStack } from './backend-stack';

// The end user verified at every hop (issue 14, item 5): the backend sends each user's own
// proof (a user assertion exchanged at the auth server, RFC 8693) to billing and the
// filesystem, which require it (USER_PROOF=required). The user journey works as before, and a
// caller holding the backend's real client credentials but no user token of the victim can
// neither read the victim's files nor charge them: not without an assertion, not with an
// assertion of another user naming the victim. Nothing changes when refused.

const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';

describe.each(testBackends())('the user proven at every hop, on %s', (database) => {
  const sut = BackendStack.forSuite(database, {
    mode: 'token+jwt',
    serviceEnv: {
      backend: { USER_PROOF: 'required' },
      'billing-server': { USER_PROOF: 'required' },
      'filesystem-server': { USER_PROOF: 'required' },
    },
  });

  const ledgerRows = async (user: TestUser) => (await sut.ledger(user)).length;

  it('serves the whole journey: profile, metered write, list, read, delete', async () => {
    const alice = await sut.signUp('pro', 'alice');
    expect(await sut.call(alice, '/me')).toMatchObject({
      status: 200,
      body: { user_id: alice.userId, balance: 5 },
    });
    expect(await sut.put(alice, '/me/files/notes/a.txt', 'hello, world')).toMatchObject({
      status: 201,
      body: { path: 'notes/a.txt', size: 12, charged: 0.01, balance: 4.99 },
    });
    expect(await sut.call(alice, '/me/files')).toMatchObject({
      status: 200,
      body: { files: [{ path: 'notes/a.txt', size: 12 }] },
    });
    const read = await sut.download(alice, '/me/files/notes/a.txt');
    expect({ status: read.status, text: read.bytes.toString('utf8') }).toEqual({
      status: 200,
      text: 'hello, world',
    });
    expect(await sut.call(alice, '/me/files/notes/a.txt', { method: 'DELETE' })).toMatchObject({
      status: 204,
    });
    expect(await sut.call(alice, '/me')).toMatchObject({ status: 200, body: { balance: 4.99 } });
    expect((await sut.ledger(alice)).map((entry) => entry.kind)).toEqual(['deduct', 'opening']);
  });

  describe("a caller with the backend's real client credentials and no token of the victim", () => {
    const backendSecret = () => sut.credentials.clients.secrets['backend'] as string;
    /** What the stolen credentials give: the backend's own service credential at `audience`. */
    const stolen = (audience: 'billing-server' | 'filesystem-server') =>
      sut.internal('backend', audience);
    /** An assertion for `user` (whose token the caller has) at `audience`, as the backend. */
    const assertionOf = async (user: TestUser, audience: string) => {
      const answer = await postAsClient(
        `${sut.url('auth-server')}/oauth2/token`,
        { id: 'backend', secret: backendSecret() },
        {
          grant_type: EXCHANGE,
          subject_token: user.accessToken,
          subject_token_type: ACCESS_TOKEN,
          audience,
        },
      );
      expect(answer.status).toBe(200);
      return (answer.body as { access_token: string }).access_token;
    };
    const outcome = (answer: TestResponse) => ({ status: answer.status, body: answer.body });

    it("cannot read, list, write or delete the victim's files: 401 without an assertion, 403 with another user's", async () => {
      const victim = await sut.signUp('pro', 'victim');
      const mallory = await sut.signUp('free', 'mallory');
      expect((await sut.put(victim, '/me/files/secret.txt', 'top secret')).status).toBe(201);
      const filesystem = sut.url('filesystem-server');
      const attempts = async (assertion: string | undefined) => {
        const headers = {
          ...(await stolen('filesystem-server')),
          'X-User-ID': victim.userId,
          ...(assertion === undefined ? {} : { 'X-User-Assertion': assertion }),
        };
        return {
          read: outcome(await request(`${filesystem}/files/secret.txt`, { headers })),
          list: outcome(await request(`${filesystem}/files`, { headers })),
          write: outcome(
            await request(`${filesystem}/files/planted.txt`, {
              method: 'PUT',
              headers: { ...headers, 'Content-Type': 'application/octet-stream' },
              body: 'planted',
            }),
          ),
          remove: outcome(
            await request(`${filesystem}/files/secret.txt`, { method: 'DELETE', headers }),
          ),
        };
      };
      const unproven = { status: 401, body: { error: 'user proof required' } };
      expect(await attempts(undefined)).toEqual({
        read: unproven,
        list: unproven,
        write: unproven,
        remove: unproven,
      });
      const notCovered = { status: 403, body: { error: 'user proof does not cover this request' } };
      expect(await attempts(await assertionOf(mallory, 'filesystem-server'))).toEqual({
        read: notCovered,
        list: notCovered,
        write: notCovered,
        remove: notCovered,
      });
      expect(existsSync(sut.onDisk(victim, 'secret.txt'))).toBe(true);
      expect(existsSync(sut.onDisk(victim, 'planted.txt'))).toBe(false);
      expect(await sut.call(victim, '/me/files')).toMatchObject({
        body: { files: [{ path: 'secret.txt' }] },
      });
    });

    it('cannot charge the victim or read their balance: no ledger row, no hold', async () => {
      const victim = await sut.signUp('pro', 'victim');
      const mallory = await sut.signUp('free', 'mallory');
      const rowsBefore = await ledgerRows(victim);
      const billing = sut.url('billing-server');
      const attempts = async (assertion: string | undefined) => {
        const headers = {
          ...(await stolen('billing-server')),
          ...(assertion === undefined ? {} : { 'X-User-Assertion': assertion }),
        };
        return {
          deduct: outcome(
            await request(`${billing}/deduct`, {
              method: 'POST',
              headers,
              json: { user_id: victim.userId, amount: '5' },
            }),
          ),
          hold: outcome(
            await request(`${billing}/holds`, {
              method: 'POST',
              headers,
              json: { hold_id: `stolen-${Date.now()}`, user_id: victim.userId, amount: '5' },
            }),
          ),
          balance: outcome(await request(`${billing}/balance/${victim.userId}`, { headers })),
        };
      };
      const unproven = { status: 401, body: { error: 'user proof required' } };
      expect(await attempts(undefined)).toEqual({
        deduct: unproven,
        hold: unproven,
        balance: unproven,
      });
      const notCovered = { status: 403, body: { error: 'user proof does not cover this request' } };
      expect(await attempts(await assertionOf(mallory, 'billing-server'))).toEqual({
        deduct: notCovered,
        hold: notCovered,
        balance: notCovered,
      });
      expect(await ledgerRows(victim)).toBe(rowsBefore);
      expect(await sut.call(victim, '/me')).toMatchObject({ status: 200, body: { balance: 5 } });
    });

    it("cannot exchange a token it does not have: the victim's assertion needs the victim's live token", async () => {
      const victim = await sut.signUp('pro', 'victim');
      // Logged out: the token is dead at the auth server, and no assertion is issued for it.
      expect(await sut.call(victim, '/me/logout', { method: 'POST' })).toMatchObject({
        status: 204,
      });
      const answer = await postAsClient(
        `${sut.url('auth-server')}/oauth2/token`,
        { id: 'backend', secret: backendSecret() },
        {
          grant_type: EXCHANGE,
          subject_token: victim.accessToken,
          subject_token_type: ACCESS_TOKEN,
          audience: 'billing-server',
        },
      );
      expect(outcome(answer)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    });
  });

  it('never logs a secret or a user token', () => {
    sut.expectNoSecretInLogs();
  });
});
