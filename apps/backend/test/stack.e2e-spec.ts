import {
  builtServiceMain,
  freePort,
  generateToken,
  rawRequest,
  request,
  scratchDatabaseFor,
  type ServiceProcess,
  startServiceProcess,
  type TestResponse,
  testBackends,
} from '@zt/test-kit';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const PASSWORD = 'correct horse battery staple';
const CLIENT_TIMEOUT_MS = 2000;
const BACKEND_MAX_FILE_BYTES = 8192;
const FS_MAX_USER_BYTES = 4096;

interface LedgerEntry {
  readonly transaction_id: string;
  readonly kind: 'opening' | 'deduct' | 'top_up';
  readonly amount: number;
  readonly balance_after: number;
  readonly reason: string | null;
}

interface User {
  readonly userId: string;
  readonly email: string;
  readonly accessToken: string;
}

/**
 * The four built services as real processes, wired as in production: billing (PGlite in a
 * temporary DATA_DIR, or PostgreSQL when TEST_DATABASE_URL is set), auth (calling billing),
 * filesystem, and the backend calling all three, with one generated internal token. Every
 * request below goes over real HTTP to the backend, as an end user would send it.
 */
describe.each(testBackends())('the stack through the backend, as processes on %s', (backend) => {
  const internalToken = generateToken();
  const dataDir = mkdtempSync(join(tmpdir(), 'backend-e2e-'));
  const internal = { 'X-INTERNAL-TOKEN': internalToken };
  let billing: ServiceProcess;
  let auth: ServiceProcess;
  let filesystem: ServiceProcess;
  let api: ServiceProcess;
  let billingEnv: Record<string, string | undefined>;
  let drop: () => Promise<void> = async () => undefined;
  let alice: User;
  let bob: User;

  beforeAll(async () => {
    const scratch = await scratchDatabaseFor(backend);
    drop = scratch.drop;
    const [billingPort, authPort] = [await freePort(), await freePort()];
    const authUrl = `http://127.0.0.1:${authPort}`;
    const shared = { INTERNAL_SERVICE_TOKEN: internalToken, DATA_DIR: dataDir };
    billingEnv = { ...shared, DATABASE_URL: scratch.url, BILLING_SERVER_PORT: String(billingPort) };
    [billing, filesystem] = await Promise.all([
      startServiceProcess({ main: builtServiceMain('billing-server'), env: billingEnv }),
      startServiceProcess({
        main: builtServiceMain('filesystem-server'),
        env: {
          ...shared,
          FILESYSTEM_SERVER_PORT: '0',
          FS_MAX_USER_BYTES: String(FS_MAX_USER_BYTES),
        },
      }),
    ]);
    [auth, api] = await Promise.all([
      startServiceProcess({
        main: builtServiceMain('auth-server'),
        env: {
          ...shared,
          DATABASE_URL: scratch.url,
          AUTH_SERVER_PORT: String(authPort),
          AUTH_SERVER_URL: authUrl,
          BILLING_SERVER_URL: billing.url,
        },
      }),
      startServiceProcess({
        main: builtServiceMain('backend'),
        env: {
          ...shared,
          BACKEND_PORT: '0',
          AUTH_SERVER_URL: authUrl,
          BILLING_SERVER_URL: billing.url,
          FILESYSTEM_SERVER_URL: filesystem.url,
          BACKEND_MAX_FILE_BYTES: String(BACKEND_MAX_FILE_BYTES),
          INTERNAL_HTTP_TIMEOUT_MS: String(CLIENT_TIMEOUT_MS),
          CIRCUIT_BREAKER_RESET_MS: '300',
          CIRCUIT_BREAKER_VOLUME_THRESHOLD: '3',
        },
      }),
    ]);
    alice = await signUp('alice@example.com', 'pro');
    bob = await signUp('bob@example.com', 'free');
  });

  afterAll(async () => {
    await Promise.all([api, auth, filesystem, billing].map((service) => service?.stop()));
    await drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  // --- helpers: what an end user and an operator would do ---------------------------------

  async function signUp(email: string, tier: string): Promise<User> {
    const invite = await request(`${auth.url}/invites`, {
      method: 'POST',
      json: { tier },
      headers: internal,
    });
    expect(invite.status).toBe(201);
    const { invite_code } = invite.body as { invite_code: string };
    const registered = await request(`${auth.url}/register`, {
      method: 'POST',
      json: { email, password: PASSWORD, invite_code },
    });
    expect(registered).toMatchObject({ status: 201, body: { email, tier } });
    const login = await request(`${auth.url}/login`, {
      method: 'POST',
      json: { email, password: PASSWORD },
    });
    expect(login.status).toBe(200);
    return {
      userId: (registered.body as { user_id: string }).user_id,
      email,
      accessToken: (login.body as { access_token: string }).access_token,
    };
  }

  function call(
    user: User | undefined,
    path: string,
    options: { method?: string; body?: string | Buffer; headers?: Record<string, string> } = {},
  ): Promise<TestResponse> {
    const headers: Record<string, string> = { ...options.headers };
    if (user) headers['Authorization'] = `Bearer ${user.accessToken}`;
    return request(`${api.url}${path}`, { ...options, headers });
  }

  const put = (user: User, path: string, body: string | Buffer, headers = {}) =>
    call(user, path, { method: 'PUT', body, headers });

  async function ledger(user: User): Promise<LedgerEntry[]> {
    const response = await request(`${billing.url}/ledger/${user.userId}`, { headers: internal });
    expect(response.status).toBe(200);
    return (response.body as { entries: LedgerEntry[] }).entries;
  }

  async function balance(user: User): Promise<number> {
    const response = await request(`${billing.url}/balance/${user.userId}`, { headers: internal });
    expect(response.status).toBe(200);
    return (response.body as { balance: number }).balance;
  }

  const onDisk = (user: User, path: string) =>
    join(dataDir, 'filesystem-server', user.userId, ...path.split('/'));

  /**
   * PUTs to `path` exactly as written: `fetch` and `new URL()` would resolve `%2e%2e`
   * segments on the client side, so the trick would never reach the server.
   */
  function putVerbatim(user: User, path: string, body: string): Promise<TestResponse> {
    const { hostname, port } = new URL(api.url);
    return new Promise((resolve, reject) => {
      const outgoing = httpRequest(
        {
          host: hostname,
          port,
          path,
          method: 'PUT',
          headers: {
            Authorization: `Bearer ${user.accessToken}`,
            'Content-Length': String(Buffer.byteLength(body)),
          },
        },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
          incoming.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({
              status: incoming.statusCode ?? 0,
              headers: new Headers(),
              body: text ? (JSON.parse(text) as unknown) : undefined,
            });
          });
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }

  /** Reads a file's bytes as the backend serves them. */
  async function download(user: User, path: string, headers: Record<string, string> = {}) {
    const response = await fetch(`${api.url}${path}`, {
      headers: { Authorization: `Bearer ${user.accessToken}`, ...headers },
    });
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      bytes: Buffer.from(await response.arrayBuffer()),
    };
  }

  // --- the scenario, in order ---------------------------------------------------------------

  describe('authentication', () => {
    it('refuses /me without a token, with 401 unauthorized', async () => {
      expect(await call(undefined, '/me')).toMatchObject({
        status: 401,
        body: { error: 'unauthorized' },
      });
    });

    it('refuses a token whose payload was changed to name another user', async () => {
      const [header, payload, signature] = alice.accessToken.split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as object;
      const forged = Buffer.from(JSON.stringify({ ...claims, sub: bob.userId })).toString(
        'base64url',
      );
      const response = await request(`${api.url}/me`, {
        headers: { Authorization: `Bearer ${header}.${forged}.${signature}` },
      });
      expect(response).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
    });

    it('does not take the internal credential for a user credential', async () => {
      const response = await request(`${api.url}/me/files`, {
        headers: { ...internal, 'X-User-ID': alice.userId },
      });
      expect(response).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
    });

    it('serves health without a token', async () => {
      expect(await request(`${api.url}/health`)).toMatchObject({
        status: 200,
        body: { status: 'ok', checks: { billing: 'up', filesystem: 'up' } },
      });
    });
  });

  describe('the profile', () => {
    it("shows the token's user with the tier's starting balance from billing", async () => {
      expect(await call(alice, '/me')).toMatchObject({
        status: 200,
        body: { user_id: alice.userId, email: 'alice@example.com', tier: 'pro', balance: 5 },
      });
      expect(await call(bob, '/me')).toMatchObject({
        status: 200,
        body: { user_id: bob.userId, email: 'bob@example.com', tier: 'free', balance: 1 },
      });
    });
  });

  describe('a metered write', () => {
    it('stores the file, charges FILE_WRITE_PRICE once, and says so', async () => {
      const response = await put(alice, '/me/files/notes/a.txt', 'hello, world');
      expect(response).toMatchObject({
        status: 201,
        body: { path: 'notes/a.txt', size: 12, charged: 0.01, balance: 4.99 },
      });
      expect(readFileSync(onDisk(alice, 'notes/a.txt'), 'utf8')).toBe('hello, world');

      const entries = await ledger(alice);
      expect(entries.map((entry) => entry.kind)).toEqual(['deduct', 'opening']);
      expect(entries[0]).toMatchObject({
        amount: -0.01,
        balance_after: 4.99,
        reason: expect.stringMatching(/^file write [0-9a-f]{32}$/),
      });
      expect(await call(alice, '/me')).toMatchObject({ status: 200, body: { balance: 4.99 } });
    });

    it('reads the file back, byte for byte, and lists it', async () => {
      expect(await download(alice, '/me/files/notes/a.txt')).toEqual({
        status: 200,
        type: 'application/octet-stream',
        bytes: Buffer.from('hello, world'),
      });
      expect(await call(alice, '/me/files')).toMatchObject({
        status: 200,
        body: { files: [{ path: 'notes/a.txt', size: 12 }] },
      });
    });

    it('stores binary bytes unchanged, and answers 200 when replacing', async () => {
      const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 10, 13, 0x7f]);
      expect((await put(alice, '/me/files/bin/data.bin', bytes)).status).toBe(201);
      const again = await put(alice, '/me/files/bin/data.bin', bytes);
      expect(again).toMatchObject({ status: 200, body: { size: 9, charged: 0.01, balance: 4.97 } });
      expect((await download(alice, '/me/files/bin/data.bin')).bytes).toEqual(bytes);
      expect(await balance(alice)).toBe(4.97);
    });

    it('answers 404 for a missing file and deletes with 204', async () => {
      expect(await call(alice, '/me/files/nope.txt')).toMatchObject({ status: 404 });
      expect(await call(alice, '/me/files/bin/data.bin', { method: 'DELETE' })).toMatchObject({
        status: 204,
      });
      expect(existsSync(onDisk(alice, 'bin/data.bin'))).toBe(false);
      expect(await call(alice, '/me/files/bin/data.bin', { method: 'DELETE' })).toMatchObject({
        status: 404,
      });
      // Deleting is free.
      expect(await balance(alice)).toBe(4.97);
    });
  });

  describe('isolation between users', () => {
    // What a client might add to reach someone else's files: the backend must ignore it.
    const spoofing = () => ({ 'X-User-ID': alice.userId, 'X-INTERNAL-TOKEN': internalToken });

    it("lets nobody else read, list or delete a user's file, whatever headers they add", async () => {
      for (const headers of [{}, spoofing()]) {
        const read = await download(bob, '/me/files/notes/a.txt', headers);
        expect(read.status).toBe(404);
        expect(read.bytes.toString('utf8')).not.toContain('hello');
        expect(await call(bob, '/me/files', { headers })).toMatchObject({
          status: 200,
          body: { files: [] },
        });
        expect(
          await call(bob, '/me/files/notes/a.txt', { method: 'DELETE', headers }),
        ).toMatchObject({ status: 404 });
      }
      expect(readFileSync(onDisk(alice, 'notes/a.txt'), 'utf8')).toBe('hello, world');
      expect((await download(alice, '/me/files/notes/a.txt')).status).toBe(200);
    });

    it("writes into the token user's own folder, whatever X-User-ID says", async () => {
      const response = await put(bob, '/me/files/notes/a.txt', 'bob was here', spoofing());
      expect(response).toMatchObject({ status: 201, body: { charged: 0.01, balance: 0.99 } });
      expect(readFileSync(onDisk(bob, 'notes/a.txt'), 'utf8')).toBe('bob was here');
      expect(readFileSync(onDisk(alice, 'notes/a.txt'), 'utf8')).toBe('hello, world');
      expect(await balance(alice)).toBe(4.97);
      expect(await balance(bob)).toBe(0.99);
    });

    it('gives a client that sends those headers the same answer as one that does not', async () => {
      const plain = await call(alice, '/me');
      const spoofed = await call(alice, '/me', { headers: spoofing() });
      expect(spoofed).toMatchObject({ status: plain.status, body: plain.body });
    });
  });

  describe('idempotent retries', () => {
    it('charges a retried write with the same Idempotency-Key once', async () => {
      const before = (await ledger(alice)).length;
      const headers = { 'Idempotency-Key': 'upload-b-1' };
      const first = await put(alice, '/me/files/notes/b.txt', 'version 1', headers);
      expect(first).toMatchObject({
        status: 201,
        body: { path: 'notes/b.txt', size: 9, charged: 0.01, balance: 4.96 },
      });
      const retry = await put(alice, '/me/files/notes/b.txt', 'version 1', headers);
      expect(retry).toMatchObject({
        status: 200,
        body: { path: 'notes/b.txt', size: 9, charged: 0.01, balance: 4.96 },
      });
      expect(retry.headers.get('idempotent-replayed')).toBe('true');

      const entries = await ledger(alice);
      expect(entries.length - before).toBe(1);
      expect(entries[0]).toMatchObject({ kind: 'deduct', amount: -0.01 });
      expect(await balance(alice)).toBe(4.96);
    });

    it('refuses the same key for a different write (422), charging and writing nothing', async () => {
      const before = await ledger(alice);
      const response = await put(alice, '/me/files/notes/b.txt', 'version 2', {
        'Idempotency-Key': 'upload-b-1',
      });
      expect(response).toMatchObject({
        status: 422,
        body: { error: 'this Idempotency-Key was used for a different write' },
      });
      expect(await ledger(alice)).toEqual(before);
      expect(readFileSync(onDisk(alice, 'notes/b.txt'), 'utf8')).toBe('version 1');
    });

    const SPENT = {
      error:
        'this Idempotency-Key was already settled by an earlier write; send a new write with a new key',
    };

    it('does not write for free what was refunded: a retry after a refund is refused (409)', async () => {
      const carol = await signUp('carol@example.com', 'pro');
      expect((await put(carol, '/me/files/blocker', 'a file')).status).toBe(201);
      const key = { 'Idempotency-Key': 'under-blocker-1' };
      // The parent is a file: the filesystem refuses (409), the charge is refunded.
      expect((await put(carol, '/me/files/blocker/child.txt', 'data', key)).status).toBe(409);
      expect((await call(carol, '/me/files/blocker', { method: 'DELETE' })).status).toBe(204);
      const before = await ledger(carol);

      // Obstacle gone, same key and bytes: the replayed charge must not pay for a new write.
      const retry = await put(carol, '/me/files/blocker/child.txt', 'data', key);
      expect(retry).toMatchObject({ status: 409, body: SPENT });
      expect(existsSync(onDisk(carol, 'blocker/child.txt'))).toBe(false);
      expect(await ledger(carol)).toEqual(before);
    });

    it('does not refund a write that happened: a retry after it is refused (409), no top-up', async () => {
      const carol = await signUp('carol-2@example.com', 'pro');
      const key = { 'Idempotency-Key': 'paid-once-1' };
      expect((await put(carol, '/me/files/spot/x.txt', 'paid', key)).status).toBe(201);
      expect((await call(carol, '/me/files/spot/x.txt', { method: 'DELETE' })).status).toBe(204);
      expect((await put(carol, '/me/files/spot', 'now a file')).status).toBe(201);
      const before = await ledger(carol);

      // The retried write would fail now (parent is a file); its charge paid the first write.
      const retry = await put(carol, '/me/files/spot/x.txt', 'paid', key);
      expect(retry).toMatchObject({ status: 409, body: SPENT });
      expect(await ledger(carol)).toEqual(before);
    });

    it('refuses a malformed or repeated Idempotency-Key with 400 before charging', async () => {
      const before = await ledger(alice);
      expect(
        await put(alice, '/me/files/notes/c.txt', 'x', { 'Idempotency-Key': 'k'.repeat(201) }),
      ).toMatchObject({ status: 400 });
      const repeated = await rawRequest(`${api.url}/me/files/notes/c.txt`, {
        method: 'PUT',
        rawHeaders: [
          'Authorization',
          `Bearer ${alice.accessToken}`,
          'Idempotency-Key',
          'a',
          'Idempotency-Key',
          'b',
        ],
        body: 'x',
      });
      expect(repeated).toMatchObject({
        status: 400,
        body: { error: 'Idempotency-Key must appear once' },
      });
      expect(await ledger(alice)).toEqual(before);
      expect(existsSync(onDisk(alice, 'notes/c.txt'))).toBe(false);
    });
  });

  describe('writes that do not happen cost nothing', () => {
    it('refuses path tricks with 400 before charging', async () => {
      const before = await ledger(alice);
      for (const path of [
        '/me/files/%2e%2e/%2e%2e/escape.txt',
        '/me/files/..%2f..%2fescape.txt',
        '/me/files/notes%2Fa.txt',
        '/me/files/a%00b',
        '/me/files/notes//a.txt',
        `/me/files/${bob.userId}%2fnotes%2fa.txt`,
      ]) {
        const response = await putVerbatim(alice, path, 'evil');
        expect({ path, status: response.status, body: response.body }).toEqual({
          path,
          status: 400,
          body: { error: 'invalid file path' },
        });
      }
      expect(await ledger(alice)).toEqual(before);
      expect(readFileSync(onDisk(bob, 'notes/a.txt'), 'utf8')).toBe('bob was here');
    });

    it('refunds a write the filesystem refuses (quota, 413): deduct + top_up, balance unchanged', async () => {
      const before = await balance(alice);
      const response = await put(alice, '/me/files/big.bin', Buffer.alloc(FS_MAX_USER_BYTES + 1));
      expect(response.status).toBe(413);
      expect(response.body).toEqual({ error: expect.any(String) });
      expect(existsSync(onDisk(alice, 'big.bin'))).toBe(false);

      const [refund, deduct] = await ledger(alice);
      expect(deduct).toMatchObject({ kind: 'deduct', amount: -0.01 });
      expect(refund).toMatchObject({
        kind: 'top_up',
        amount: 0.01,
        reason: expect.stringMatching(/^file write refund [0-9a-f]{32}$/),
        balance_after: before,
      });
      expect(await balance(alice)).toBe(before);
    });

    it('refuses an upload over the backend limit with 413 before charging anything', async () => {
      const before = await ledger(alice);
      const response = await put(
        alice,
        '/me/files/huge.bin',
        Buffer.alloc(BACKEND_MAX_FILE_BYTES + 1),
      );
      expect(response).toMatchObject({
        status: 413,
        body: { error: `file is larger than ${BACKEND_MAX_FILE_BYTES} bytes` },
      });
      expect(await ledger(alice)).toEqual(before);
      expect(existsSync(onDisk(alice, 'huge.bin'))).toBe(false);
    });

    it('answers 402 with the balance when funds are short, writing nothing', async () => {
      // Bob (free tier, 1 credit) has 0.99 left; leave him half the price of a write.
      const drain = await request(`${billing.url}/deduct`, {
        method: 'POST',
        json: { user_id: bob.userId, amount: '0.985', reason: 'test drain' },
        headers: internal,
      });
      expect(drain).toMatchObject({ status: 200, body: { balance: 0.005 } });
      const before = await ledger(bob);

      const response = await put(bob, '/me/files/notes/second.txt', 'no money');
      expect(response).toMatchObject({
        status: 402,
        body: { error: 'insufficient funds', balance: 0.005 },
      });
      expect(existsSync(onDisk(bob, 'notes/second.txt'))).toBe(false);
      expect(await ledger(bob)).toEqual(before);
      expect(await call(bob, '/me')).toMatchObject({ body: { balance: 0.005 } });
    });
  });

  describe('when billing goes down and comes back', () => {
    it('answers 503 billing unavailable, fast once the breaker is open, and writes nothing', async () => {
      await billing.stop();
      const elapsed: number[] = [];
      for (let i = 0; i < 8; i += 1) {
        const started = performance.now();
        const response =
          i % 2 === 0
            ? await put(alice, `/me/files/outage-${i}.txt`, 'during the outage')
            : await call(alice, '/me');
        elapsed.push(Math.round(performance.now() - started));
        expect(response).toMatchObject({ status: 503, body: { error: 'billing unavailable' } });
      }
      console.log(
        `[${backend}] billing down: 503 answer times in ms, in order: ${elapsed.join(', ')}`,
      );

      expect(await request(`${api.url}/health`)).toMatchObject({
        status: 503,
        body: { checks: { billing: 'down', filesystem: 'up' } },
      });
      const started = performance.now();
      const fast = await call(alice, '/me');
      const fastMs = performance.now() - started;
      console.log(`[${backend}] billing down, breaker open: 503 in ${fastMs.toFixed(1)} ms`);
      expect(fast).toMatchObject({ status: 503, body: { error: 'billing unavailable' } });
      expect(fastMs).toBeLessThan(CLIENT_TIMEOUT_MS);

      // The filesystem still works, and nothing of the refused writes reached it.
      const listing = await call(alice, '/me/files');
      expect(listing.status).toBe(200);
      const paths = (listing.body as { files: Array<{ path: string }> }).files.map((f) => f.path);
      expect(paths.filter((path) => path.startsWith('outage'))).toEqual([]);
    });

    it('recovers by itself once billing is back on the same port with the same data', async () => {
      const restartedAt = performance.now();
      billing = await startServiceProcess({
        main: builtServiceMain('billing-server'),
        env: billingEnv,
      });
      const listening = performance.now();
      let response = await call(alice, '/me');
      for (let attempt = 0; response.status === 503 && attempt < 200; attempt += 1) {
        await sleep(25);
        response = await call(alice, '/me');
      }
      const recovered = performance.now();
      console.log(
        `[${backend}] billing restarted: listening after ${(listening - restartedAt).toFixed(0)} ms, ` +
          `first backend success ${(recovered - listening).toFixed(0)} ms after that`,
      );
      // Nothing was charged during the outage.
      expect(response).toMatchObject({ status: 200, body: { balance: 4.96 } });

      const write = await put(alice, '/me/files/after.txt', 'billing is back');
      expect(write).toMatchObject({ status: 201, body: { charged: 0.01, balance: 4.95 } });
      const entries = await ledger(alice);
      expect(entries.reduce((sum, entry) => sum + entry.amount * 1e6, 0) / 1e6).toBeCloseTo(
        4.95,
        6,
      );
      expect(await request(`${api.url}/health`)).toMatchObject({ status: 200 });
    });
  });

  it('never logs the internal token nor an access token', () => {
    const logs = api.output() + auth.output() + billing.output() + filesystem.output();
    expect(logs).not.toContain(internalToken);
    for (const user of [alice, bob]) expect(logs).not.toContain(user.accessToken.split('.')[2]);
  });
});
