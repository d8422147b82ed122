import { launchStack, type ServiceStack } from '@zt/stack-launcher';
import {
  inheritedProcessEnvironment,
  postAsClient,
  registerUser,
  request,
  StackCredentials,
  type TestResponse,
  type TestUser,
} from '@zt/test-kit';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Billing with USER_PROOF=required: the routes that charge, pay or read a user's money
// (deduct, top_up, placing a hold, balance) need that user's own proof, a user assertion
// exchanged at the real auth server (RFC 8693), besides the backend's service credential. A
// refusal changes nothing: no ledger row, no hold. Issue 14, item 5.

const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const REFUSED_401 = { status: 401, body: { error: 'user proof required' } };
const REFUSED_403 = { status: 403, body: { error: 'user proof does not cover this request' } };

describe('billing-server with USER_PROOF=required, as a process', () => {
  const credentials = new StackCredentials('token+jwt');
  const dataDir = mkdtempSync(join(tmpdir(), 'billing-user-proof-e2e-'));
  let stack: ServiceStack;
  let alice: TestUser;
  let bob: TestUser;
  const url = (name: 'auth-server' | 'billing-server') => stack.process(name).url;

  beforeAll(async () => {
    stack = await launchStack({
      services: ['billing-server', 'auth-server'],
      env: { ...inheritedProcessEnvironment(), ...credentials.environment(), DATA_DIR: dataDir },
      serviceEnv: { 'billing-server': { USER_PROOF: 'required' } },
      startTimeoutMs: 180_000,
    });
    // Registration opens the billing account as the auth server, with no user yet: not a
    // route that asks for a user's proof.
    const invites = await credentials.headers(url('auth-server'), 'operator', 'auth-server');
    alice = await registerUser(url('auth-server'), invites, { tier: 'pro' });
    bob = await registerUser(url('auth-server'), invites, { tier: 'pro' });
  }, 240_000);

  afterAll(async () => {
    await stack?.stopAll();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const assertionFor = async (user: TestUser, scope?: string) => {
    const answer = await postAsClient(
      `${url('auth-server')}/oauth2/token`,
      { id: 'backend', secret: credentials.clients.secrets['backend'] as string },
      {
        grant_type: EXCHANGE,
        subject_token: user.accessToken,
        subject_token_type: ACCESS_TOKEN,
        audience: 'billing-server',
        ...(scope === undefined ? {} : { scope }),
      },
    );
    expect(answer.status).toBe(200);
    return (answer.body as { access_token: string }).access_token;
  };
  /** A call to billing with the backend's real credential, and `proof` when given. */
  const asBackend = async (
    method: string,
    path: string,
    proof: string | undefined,
    json?: unknown,
  ): Promise<TestResponse> =>
    request(`${url('billing-server')}${path}`, {
      method,
      headers: {
        ...(await credentials.headers(url('auth-server'), 'backend', 'billing-server')),
        ...(proof === undefined ? {} : { 'X-User-Assertion': proof }),
      },
      json,
    });
  const ledgerOf = async (user: TestUser) => {
    const answer = await request(`${url('billing-server')}/ledger/${user.userId}`, {
      headers: await credentials.headers(url('auth-server'), 'operator', 'billing-server'),
    });
    expect(answer.status).toBe(200);
    return (answer.body as { entries: { kind: string; amount: number }[] }).entries;
  };
  const outcome = (answer: TestResponse) => ({ status: answer.status, body: answer.body });

  it("charges and reads a user's money with that user's own proof", async () => {
    const proof = await assertionFor(alice);
    expect(await asBackend('GET', `/balance/${alice.userId}`, proof)).toMatchObject({
      status: 200,
      body: { user_id: alice.userId, balance: 5 },
    });
    expect(
      await asBackend('POST', '/deduct', proof, { user_id: alice.userId, amount: '1' }),
    ).toMatchObject({ status: 200, body: { balance: 4 } });
    const hold = await asBackend('POST', '/holds', proof, {
      hold_id: randomUUID(),
      user_id: alice.userId,
      amount: '0.5',
      reason: 'file write',
    });
    expect(hold).toMatchObject({ status: 201, body: { state: 'held' } });
    // Capture settles a hold placed with the user's proof: by its id, without one.
    const holdId = (hold.body as { hold_id: string }).hold_id;
    expect(await asBackend('POST', `/holds/${holdId}/capture`, undefined)).toMatchObject({
      status: 200,
      body: { state: 'captured' },
    });
  });

  it("refuses the backend's credential alone on every money route: 401, nothing changes", async () => {
    const before = await ledgerOf(bob);
    const calls: [string, string, unknown][] = [
      ['GET', `/balance/${bob.userId}`, undefined],
      ['POST', '/deduct', { user_id: bob.userId, amount: '1' }],
      ['POST', '/top_up', { user_id: bob.userId, amount: '100' }],
      ['POST', '/holds', { hold_id: randomUUID(), user_id: bob.userId, amount: '1' }],
    ];
    for (const [method, path, json] of calls) {
      expect({ path, ...outcome(await asBackend(method, path, undefined, json)) }).toEqual({
        path,
        ...REFUSED_401,
      });
    }
    expect(await ledgerOf(bob)).toEqual(before);
  });

  it("refuses Alice's proof on Bob's money: 403, no ledger row, no hold", async () => {
    const before = await ledgerOf(bob);
    const proof = await assertionFor(alice);
    const calls: [string, string, unknown][] = [
      ['GET', `/balance/${bob.userId}`, undefined],
      ['POST', '/deduct', { user_id: bob.userId, amount: '1' }],
      ['POST', '/top_up', { user_id: bob.userId, amount: '100' }],
      ['POST', '/holds', { hold_id: randomUUID(), user_id: bob.userId, amount: '1' }],
    ];
    for (const [method, path, json] of calls) {
      expect({ path, ...outcome(await asBackend(method, path, proof, json)) }).toEqual({
        path,
        ...REFUSED_403,
      });
    }
    expect(await ledgerOf(bob)).toEqual(before);
    const holds = await asBackend('GET', '/holds?state=held', undefined);
    expect(holds.status).toBe(200);
    expect(
      (holds.body as { holds: { user_id: string }[] }).holds.filter(
        (entry) => entry.user_id === bob.userId,
      ),
    ).toEqual([]);
  });

  it("refuses a proof without the route's scope (a balance-only proof cannot charge)", async () => {
    const before = await ledgerOf(alice);
    const readOnly = await assertionFor(alice, 'billing:balance.read');
    expect((await asBackend('GET', `/balance/${alice.userId}`, readOnly)).status).toBe(200);
    expect(
      outcome(await asBackend('POST', '/deduct', readOnly, { user_id: alice.userId, amount: '1' })),
    ).toEqual(REFUSED_403);
    expect(await ledgerOf(alice)).toEqual(before);
  });
});
