import { keepSlashesInPath } from '@zt/service-chassis';
import {
  builtServiceMain,
  freePort,
  generateToken,
  rawRequest,
  readMetric,
  request,
  runServiceToExit,
  scratchDatabaseFor,
  type ServiceProcess,
  startServiceProcess,
  type TestResponse,
  testBackends,
} from '@zt/test-kit';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type ClientRequest, type IncomingMessage, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const PASSWORD = 'correct horse battery staple';
const CLIENT_TIMEOUT_MS = 2000;
const BACKEND_MAX_FILE_BYTES = 8192;
const FS_MAX_USER_BYTES = 4096;
// Room for two of the largest uploads, or four uploads that each fill a user's quota.
const BACKEND_UPLOAD_BUDGET_BYTES = 2 * BACKEND_MAX_FILE_BYTES;
const UPLOADS_BUSY = { error: 'too many uploads in progress, retry later' };

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
          BACKEND_UPLOAD_BUDGET_BYTES: String(BACKEND_UPLOAD_BUDGET_BYTES),
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

  /** The upload bytes the backend holds now, as its metrics say (internal credential). */
  async function heldUploadBytes(): Promise<number | undefined> {
    const scrape = await request(`${api.url}/metrics`, { headers: internal });
    expect(scrape.status).toBe(200);
    return readMetric(scrape.body as string, 'backend_upload_held_bytes');
  }

  /** Waits until the backend holds `bytes` of upload bodies (its uploads run concurrently). */
  async function untilHeld(bytes: number): Promise<void> {
    let held = await heldUploadBytes();
    for (let attempt = 0; held !== bytes && attempt < 250; attempt += 1) {
      await sleep(20);
      held = await heldUploadBytes();
    }
    expect(held).toBe(bytes);
  }

  /** Reads an answer to a raw request (undefined body when empty). */
  function answerOf(outgoing: ClientRequest): Promise<TestResponse> {
    const answer = new Promise<TestResponse>((resolve, reject) => {
      outgoing.on('response', (incoming: IncomingMessage) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('end', () => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(incoming.headers)) {
            if (typeof value === 'string') headers.set(name, value);
          }
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: incoming.statusCode ?? 0,
            headers,
            body: text ? (JSON.parse(text) as unknown) : undefined,
          });
        });
      });
      outgoing.on('error', reject);
    });
    // A test may hang up on purpose; it never reads that answer.
    answer.catch(() => undefined);
    return answer;
  }

  // Raw PUTs still open: a failed test must not leave one that keeps the backend from stopping.
  const unfinished = new Set<ClientRequest>();

  /** A PUT on its own connection whose headers are sent now, and its body as the test says. */
  function openPut(user: User, path: string, headers: Record<string, string>) {
    const { hostname, port } = new URL(api.url);
    const outgoing = httpRequest({
      host: hostname,
      port,
      path,
      method: 'PUT',
      agent: false,
      headers: { Authorization: `Bearer ${user.accessToken}`, ...headers },
    });
    const answer = answerOf(outgoing);
    unfinished.add(outgoing);
    outgoing.on('close', () => unfinished.delete(outgoing));
    outgoing.flushHeaders();
    return { outgoing, answer };
  }

  /**
   * Starts an upload of `bytes` that holds its share of the budget until `finish()`: with a
   * declared Content-Length, of which only the first KiB is sent (the backend reserves the
   * whole length before reading); or chunked, all its bytes sent but not the final chunk (the
   * backend reserves as they arrive).
   */
  function slowUpload(user: User, path: string, bytes: Buffer, mode: 'declared' | 'chunked') {
    const { outgoing, answer } = openPut(
      user,
      path,
      mode === 'declared'
        ? { 'Content-Length': String(bytes.length) }
        : { 'Transfer-Encoding': 'chunked' },
    );
    const sentNow = mode === 'declared' ? Math.min(1024, bytes.length) : bytes.length;
    outgoing.write(bytes.subarray(0, sentNow));
    return {
      answer,
      finish: () => {
        outgoing.end(bytes.subarray(sentNow));
        return answer;
      },
      hangUp: () => outgoing.destroy(),
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

  describe('the interactive API docs (/docs)', () => {
    interface Operation {
      parameters?: Array<{ name: string; in: string }>;
      requestBody?: { content: Record<string, unknown> };
      responses: Record<string, unknown>;
    }
    let paths: Record<string, Record<string, Operation>>;
    beforeAll(async () => {
      const document = await request(`${api.url}/docs/openapi.json`);
      expect(document.status).toBe(200);
      paths = (document.body as { paths: typeof paths }).paths;
    });

    it('declares the file path parameter, and the raw body of a write', () => {
      for (const method of ['get', 'put', 'delete']) {
        expect(paths['/me/files/{path}'][method].parameters).toContainEqual(
          expect.objectContaining({ name: 'path', in: 'path', required: true }),
        );
      }
      expect(paths['/me/files/{path}']['put'].requestBody?.content).toHaveProperty(
        'application/octet-stream',
      );
    });

    it('answers "Try it out" as documented: the request Swagger UI builds, through its interceptor', async () => {
      // Swagger UI encodes the whole parameter; the docs page sends "/" back as "/".
      const url = keepSlashesInPath({
        url: `${api.url}/me/files/${encodeURIComponent('docs/try it.txt')}`,
      }).url;
      expect(url).toBe(`${api.url}/me/files/docs/try%20it.txt`);
      const documented = (method: string) =>
        Object.keys(paths['/me/files/{path}'][method].responses);
      const reader = await signUp(`docs-${backend}@example.com`, 'free');

      const written = await call(reader, url.slice(api.url.length), {
        method: 'PUT',
        body: 'from the docs page',
      });
      expect(written.status).toBe(201);
      expect(documented('put')).toContain(String(written.status));
      const read = await call(reader, url.slice(api.url.length));
      expect(read).toMatchObject({ status: 200, body: 'from the docs page' });
      expect(documented('get')).toContain(String(read.status));
      const removed = await call(reader, url.slice(api.url.length), { method: 'DELETE' });
      expect(removed.status).toBe(204);
      expect(documented('delete')).toContain(String(removed.status));
      // The page itself runs that interceptor.
      const init = await request(`${api.url}/docs/swagger-ui-init.js`);
      expect(String(init.body)).toContain('requestInterceptor');
      expect(String(init.body)).toContain('%2F');
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
      // The write happened once: its answer again, as a replay.
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

    it('answers a retry of a write that happened like the first time: no top-up, nothing rewritten', async () => {
      const carol = await signUp('carol-2@example.com', 'pro');
      const key = { 'Idempotency-Key': 'paid-once-1' };
      const first = await put(carol, '/me/files/spot/x.txt', 'paid', key);
      expect(first.status).toBe(201);
      expect((await call(carol, '/me/files/spot/x.txt', { method: 'DELETE' })).status).toBe(204);
      expect((await put(carol, '/me/files/spot', 'now a file')).status).toBe(201);
      const before = await ledger(carol);

      // The write would fail now (parent is a file); its charge paid the first write.
      const retry = await put(carol, '/me/files/spot/x.txt', 'paid', key);
      expect(retry).toMatchObject({ status: 200, body: first.body });
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
      expect(await ledger(carol)).toEqual(before);
      expect(readFileSync(onDisk(carol, 'spot'), 'utf8')).toBe('now a file');
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
        reason: expect.stringMatching(/^release of hold r[0-9a-f]{32}$/),
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
      // Until the breaker opens: how many failures that takes depends on how many calls the
      // tests before this one made within the breaker's rolling window.
      for (let i = 0; i < 60; i += 1) {
        const started = performance.now();
        const response =
          i % 2 === 0
            ? await put(alice, `/me/files/outage-${i}.txt`, 'during the outage')
            : await call(alice, '/me');
        elapsed.push(Math.round(performance.now() - started));
        expect(response).toMatchObject({ status: 503, body: { error: 'billing unavailable' } });
        if (i >= 7 && (await request(`${api.url}/health`)).status === 503) break;
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

  describe('the global upload budget (BACKEND_UPLOAD_BUDGET_BYTES)', () => {
    // Four uploads of a full user quota fill the budget exactly.
    const SHARE = BACKEND_UPLOAD_BUDGET_BYTES / 4;
    let holders: User[];
    let frank: User;

    beforeAll(async () => {
      expect(SHARE).toBe(FS_MAX_USER_BYTES);
      holders = [];
      for (const name of ['dave', 'erin', 'fay', 'gus']) {
        holders.push(await signUp(`${name}@example.com`, 'pro'));
      }
      frank = await signUp('frank@example.com', 'pro');
    });

    afterEach(() => {
      for (const outgoing of unfinished) outgoing.destroy();
    });

    it('refuses one more upload with 503 and Retry-After while other users hold it, charging nothing; takes it again once they finish', async () => {
      expect(await heldUploadBytes()).toBe(0);
      const contents = holders.map((_, i) => Buffer.alloc(SHARE, 97 + i));
      const held = holders.map((user, i) =>
        slowUpload(user, '/me/files/held.bin', contents[i], i % 2 === 0 ? 'declared' : 'chunked'),
      );
      await untilHeld(BACKEND_UPLOAD_BUDGET_BYTES);
      const ledgerBefore = await ledger(frank);

      // A small upload, body sent at once.
      const refused = await put(frank, '/me/files/refused.txt', 'hello');
      expect(refused.status).toBe(503);
      expect(refused.body).toEqual(UPLOADS_BUSY);
      expect(refused.headers.get('retry-after')).toBe('1');

      // Headers only: answered before its body was sent, and the connection is closed.
      const unread = openPut(frank, '/me/files/refused.txt', { 'Content-Length': '5' });
      const early = await unread.answer;
      unread.outgoing.destroy();
      expect({ status: early.status, body: early.body }).toEqual({
        status: 503,
        body: UPLOADS_BUSY,
      });
      expect(early.headers.get('retry-after')).toBe('1');
      expect(early.headers.get('connection')).toBe('close');

      // A chunked upload does not start either.
      const chunked = openPut(frank, '/me/files/refused.txt', { 'Transfer-Encoding': 'chunked' });
      const chunkedAnswer = await chunked.answer;
      chunked.outgoing.destroy();
      expect({ status: chunkedAnswer.status, body: chunkedAnswer.body }).toEqual({
        status: 503,
        body: UPLOADS_BUSY,
      });

      // Nothing was charged or written for the refused user.
      expect(await ledger(frank)).toEqual(ledgerBefore);
      expect(await balance(frank)).toBe(5);
      expect(existsSync(onDisk(frank, 'refused.txt'))).toBe(false);
      expect(await heldUploadBytes()).toBe(BACKEND_UPLOAD_BUDGET_BYTES);

      // The held uploads were only waiting for their bytes: each completes and is charged once.
      const written = await Promise.all(held.map((upload) => upload.finish()));
      for (const [i, response] of written.entries()) {
        expect({ status: response.status, body: response.body }).toEqual({
          status: 201,
          body: { path: 'held.bin', size: SHARE, charged: 0.01, balance: 4.99 },
        });
        expect(readFileSync(onDisk(holders[i], 'held.bin'))).toEqual(contents[i]);
      }
      await untilHeld(0);

      const after = await put(frank, '/me/files/after.txt', 'hello');
      expect(after).toMatchObject({ status: 201, body: { size: 5, charged: 0.01, balance: 4.99 } });
      expect((await ledger(frank)).length).toBe(ledgerBefore.length + 1);
    });

    it('gets every byte back after aborts and failures: the whole budget can be held again, and no more', async () => {
      const [dave, erin, fay, gus] = holders;

      // Clients that hang up mid-body, declared and chunked.
      for (const [user, mode] of [
        [dave, 'declared'],
        [erin, 'chunked'],
      ] as const) {
        const upload = slowUpload(user, '/me/files/gone.bin', Buffer.alloc(SHARE), mode);
        await untilHeld(SHARE);
        upload.hangUp();
        await untilHeld(0);
      }
      expect(existsSync(onDisk(dave, 'gone.bin'))).toBe(false);

      // A chunked body past the backend's limit (413 while reading).
      const tooLarge = slowUpload(
        fay,
        '/me/files/huge.bin',
        Buffer.alloc(BACKEND_MAX_FILE_BYTES + 1),
        'chunked',
      );
      expect(await tooLarge.answer).toMatchObject({
        status: 413,
        body: { error: `file is larger than ${BACKEND_MAX_FILE_BYTES} bytes` },
      });
      tooLarge.hangUp();
      await untilHeld(0);

      // A write the filesystem refuses after the charge (gus's quota is full): refunded.
      const balanceBefore = await balance(gus);
      const refusedByFilesystem = await put(gus, '/me/files/more.bin', Buffer.alloc(SHARE));
      expect(refusedByFilesystem.status).toBe(413);
      const [refund, deduct] = await ledger(gus);
      expect([refund.kind, deduct.kind]).toEqual(['top_up', 'deduct']);
      expect(await balance(gus)).toBe(balanceBefore);
      await untilHeld(0);

      // The whole budget again: four full shares are taken, and a fifth byte is not.
      const held = holders.map((user) =>
        slowUpload(user, '/me/files/again.bin', Buffer.alloc(SHARE), 'declared'),
      );
      await untilHeld(BACKEND_UPLOAD_BUDGET_BYTES);
      const ledgerBefore = await ledger(frank);
      expect(await put(frank, '/me/files/one-byte.txt', 'x')).toMatchObject({
        status: 503,
        body: UPLOADS_BUSY,
      });
      expect(await ledger(frank)).toEqual(ledgerBefore);
      for (const upload of held) upload.hangUp();
      await untilHeld(0);
    });
  });

  describe('one noisy user', () => {
    it('cannot slow the file service for others: a full tree listed in parallel, and every quiet request succeeds', async () => {
      const noisy = await signUp(`noisy-${backend}@example.com`, 'team');
      const quiet = await signUp(`quiet-${backend}@example.com`, 'team');
      // Deepest paths allowed (32 segments), until the entry quota (10,000) refuses one,
      // refunded: the tree a noisy user could once grow without bound.
      const deep = (n: number) =>
        `/me/files/tree-${n}/${Array.from({ length: 30 }, (_, i) => `d${i}`).join('/')}/f`;
      let stored = 0;
      for (; ; stored++) {
        const answer = await put(noisy, deep(stored), 'x');
        if (answer.status !== 201) {
          expect(answer.status).toBe(413);
          break;
        }
      }
      expect(stored).toBe(312);

      let noisyRunning = true;
      const listings: number[] = [];
      const rewrites: number[] = [];
      // Three listings of the whole tree at a time, and rewrites beside them (the backend
      // lets one user have four file requests in flight).
      const noise = [
        ...Array.from({ length: 3 }, async () => {
          while (noisyRunning) listings.push((await call(noisy, '/me/files')).status);
        }),
        (async () => {
          for (let n = 0; noisyRunning; n++)
            rewrites.push((await put(noisy, deep(n % 312), 'y')).status);
        })(),
      ];
      const quietStatuses: number[] = [];
      try {
        for (let i = 0; i < 15; i++) {
          quietStatuses.push((await put(quiet, `/me/files/quiet-${i}.txt`, `note ${i}`)).status);
          quietStatuses.push((await call(quiet, `/me/files/quiet-${i}.txt`)).status);
        }
        expect(await request(`${api.url}/health/ready`)).toMatchObject({ status: 200 });
      } finally {
        noisyRunning = false;
        await Promise.all(noise);
      }
      expect(quietStatuses.filter((status) => status !== 201 && status !== 200)).toEqual([]);
      expect(rewrites.filter((status) => status !== 200)).toEqual([]);
      // A listing of 10,000 entries takes about 0.5 s here alone, 1.5 s three at once; beside
      // the rewrites it may pass this suite's 2 s deadline: the noisy user's own cost (503),
      // never another user's (above), and the listing stops when its caller gives up.
      console.log(`[${backend}] noisy user's listings: ${listings.join(', ')}`);
      expect(listings.filter((status) => status !== 200 && status !== 503)).toEqual([]);
      expect(listings.length).toBeGreaterThan(0);
      expect(await request(`${api.url}/health`)).toMatchObject({
        status: 200,
        body: { checks: { filesystem: 'up' } },
      });
    }, 240_000);
  });

  it('never logs the internal token nor an access token', () => {
    const logs = api.output() + auth.output() + billing.output() + filesystem.output();
    expect(logs).not.toContain(internalToken);
    for (const user of [alice, bob]) expect(logs).not.toContain(user.accessToken.split('.')[2]);
  });
});

describe('the backend at start-up', () => {
  it('refuses an upload budget below the largest upload: exits 1 with one line naming it', async () => {
    const result = await runServiceToExit({
      main: builtServiceMain('backend'),
      env: {
        INTERNAL_SERVICE_TOKEN: generateToken(),
        BACKEND_PORT: '0',
        BACKEND_MAX_FILE_BYTES: '8192',
        BACKEND_UPLOAD_BUDGET_BYTES: '8191',
      },
    });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      'configuration error: BACKEND_UPLOAD_BUDGET_BYTES must be at least the largest upload, ' +
        "8192 bytes (BACKEND_MAX_FILE_BYTES, else FS_MAX_FILE_BYTES; the budget's default is 67108864)",
    );
    expect(result.stdout).not.toContain('listening');
  });
});
