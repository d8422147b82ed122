import { launchStack, type ServiceStack } from '@zt/stack-launcher';
import {
  inheritedProcessEnvironment,
  jsonLogLines,
  postAsClient,
  registerUser,
  request,
  StackCredentials,
  type TestResponse,
  type TestUser,
} from '@zt/test-kit';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The filesystem with USER_PROOF=required: a caller allowed to act as a user (the backend's
// real service credential) reads and writes a user's files only with that user's own proof,
// a user assertion exchanged at the real auth server (RFC 8693). Issue 14, item 5.

const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';

describe('filesystem-server with USER_PROOF=required, as a process', () => {
  const credentials = new StackCredentials('token+jwt');
  const dataDir = mkdtempSync(join(tmpdir(), 'fs-user-proof-e2e-'));
  let stack: ServiceStack;
  let alice: TestUser;
  let bob: TestUser;
  const url = (name: 'auth-server' | 'filesystem-server') => stack.process(name).url;

  beforeAll(async () => {
    stack = await launchStack({
      services: ['billing-server', 'auth-server', 'filesystem-server'],
      env: { ...inheritedProcessEnvironment(), ...credentials.environment(), DATA_DIR: dataDir },
      serviceEnv: { 'filesystem-server': { USER_PROOF: 'required' } },
      startTimeoutMs: 180_000,
    });
    const invites = await credentials.headers(url('auth-server'), 'operator', 'auth-server');
    [alice, bob] = [
      await registerUser(url('auth-server'), invites),
      await registerUser(url('auth-server'), invites),
    ];
  }, 240_000);

  afterAll(async () => {
    await stack?.stopAll();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** The backend's own credential at the filesystem: its real service token and shared token. */
  const asBackend = () => credentials.headers(url('auth-server'), 'backend', 'filesystem-server');
  /** What the backend gets for `user` at the auth server: a user assertion for the filesystem. */
  const assertionFor = async (user: TestUser, audience = 'filesystem-server') => {
    const answer = await postAsClient(
      `${url('auth-server')}/oauth2/token`,
      { id: 'backend', secret: credentials.clients.secrets['backend'] as string },
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
  const files = async (
    method: string,
    path: string,
    userId: string,
    assertion: string | undefined,
    body?: string,
  ): Promise<TestResponse> =>
    request(`${url('filesystem-server')}/files${path}`, {
      method,
      headers: {
        ...(await asBackend()),
        'X-User-ID': userId,
        ...(assertion === undefined ? {} : { 'X-User-Assertion': assertion }),
        ...(body === undefined ? {} : { 'Content-Type': 'application/octet-stream' }),
      },
      body,
    });
  const listOf = async (user: TestUser) => {
    const answer = await files('GET', '', user.userId, await assertionFor(user));
    expect(answer.status).toBe(200);
    return (answer.body as { files: { path: string }[] }).files.map((file) => file.path);
  };

  it("serves a user's files with that user's own proof", async () => {
    const proof = await assertionFor(alice);
    expect(await files('PUT', '/notes.txt', alice.userId, proof, 'hello')).toMatchObject({
      status: 201,
      body: { path: 'notes.txt', size: 5 },
    });
    const read = await files('GET', '/notes.txt', alice.userId, proof);
    expect({ status: read.status, body: read.body }).toEqual({ status: 200, body: 'hello' });
    expect(await listOf(alice)).toEqual(['notes.txt']);
  });

  it("refuses the backend's credential without the user's proof: 401, nothing read or written", async () => {
    for (const [method, body] of [
      ['GET', undefined],
      ['PUT', 'stolen'],
      ['DELETE', undefined],
    ] as const) {
      const answer = await files(method, '/notes.txt', alice.userId, undefined, body);
      expect({ method, status: answer.status, body: answer.body }).toEqual({
        method,
        status: 401,
        body: { error: 'user proof required' },
      });
    }
    const list = await files('GET', '', bob.userId, undefined);
    expect(list.status).toBe(401);
    expect(await listOf(alice)).toEqual(['notes.txt']);
  });

  it("refuses Alice's proof for Bob's files, and a proof for another callee: nothing changes", async () => {
    const aliceProof = await assertionFor(alice);
    const bobPut = await files('PUT', '/planted.txt', bob.userId, aliceProof, 'planted');
    expect({ status: bobPut.status, body: bobPut.body }).toEqual({
      status: 403,
      body: { error: 'user proof does not cover this request' },
    });
    expect((await files('GET', '', bob.userId, aliceProof)).status).toBe(403);
    expect(await listOf(bob)).toEqual([]);

    const billingProof = await assertionFor(alice, 'billing-server');
    expect((await files('GET', '/notes.txt', alice.userId, billingProof)).status).toBe(401);
    // A user token or a service token is no user proof either.
    expect((await files('GET', '/notes.txt', alice.userId, alice.accessToken)).status).toBe(401);
    const serviceToken = (await asBackend())['Authorization']?.replace(/^Bearer /, '') ?? '';
    expect((await files('GET', '/notes.txt', alice.userId, serviceToken)).status).toBe(401);
  });

  it('logs each refusal with its reason, and never a token', async () => {
    const reasons = jsonLogLines(stack.process('filesystem-server'))
      .filter((line) => line['event'] === 'user_proof_denied')
      .map((line) => line['reason']);
    expect(reasons).toEqual(
      expect.arrayContaining(['assertion_missing', 'other_user', 'assertion_rejected']),
    );
    const output = stack.process('filesystem-server').output();
    for (const user of [alice, bob]) expect(output).not.toContain(user.accessToken.split('.')[2]);
  });
});
