import { request, testBackends, type TestResponse, type TestUser } from '@zt/test-kit';
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { BACKEND_MAX_FILE_BYTES, BackendStack, FS_MAX_USER_BYTES } from './backend-stack';

/**
 * Metered writes through the backend (FILE_WRITE_PRICE, 0.01 by default): stored and charged
 * once, read back byte for byte, and never charged for a write that does not happen. Each
 * test signs up its own users, so its balances are its own.
 */
describe.each(testBackends())('metered writes through the backend, on %s', (database) => {
  const sut = BackendStack.forSuite(database);

  /**
   * PUTs to `path` exactly as written: `fetch` and `new URL()` would resolve `%2e%2e`
   * segments on the client side, so the trick would never reach the server.
   */
  function putVerbatim(user: TestUser, path: string, body: string): Promise<TestResponse> {
    const { hostname, port } = new URL(sut.api);
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

  describe('a metered write', () => {
    it('stores the file, charges FILE_WRITE_PRICE once, and says so', async () => {
      const user = await sut.signUp('pro');
      const response = await sut.put(user, '/me/files/notes/a.txt', 'hello, world');
      expect(response).toMatchObject({
        status: 201,
        body: { path: 'notes/a.txt', size: 12, charged: 0.01, balance: 4.99 },
      });
      expect(readFileSync(sut.onDisk(user, 'notes/a.txt'), 'utf8')).toBe('hello, world');

      const entries = await sut.ledger(user);
      expect(entries.map((entry) => entry.kind)).toEqual(['deduct', 'opening']);
      expect(entries[0]).toMatchObject({
        amount: -0.01,
        balance_after: 4.99,
        reason: expect.stringMatching(/^file write [0-9a-f]{32}$/),
      });
      expect(await sut.call(user, '/me')).toMatchObject({ status: 200, body: { balance: 4.99 } });
    });

    it('reads the file back, byte for byte, and lists it', async () => {
      const user = await sut.signUp('pro');
      expect((await sut.put(user, '/me/files/notes/a.txt', 'hello, world')).status).toBe(201);
      expect(await sut.download(user, '/me/files/notes/a.txt')).toEqual({
        status: 200,
        type: 'application/octet-stream',
        bytes: Buffer.from('hello, world'),
      });
      expect(await sut.call(user, '/me/files')).toMatchObject({
        status: 200,
        body: { files: [{ path: 'notes/a.txt', size: 12 }] },
      });
    });

    it('stores binary bytes unchanged, and answers 200 when replacing', async () => {
      const user = await sut.signUp('pro');
      const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 10, 13, 0x7f]);
      expect((await sut.put(user, '/me/files/bin/data.bin', bytes)).status).toBe(201);
      const again = await sut.put(user, '/me/files/bin/data.bin', bytes);
      expect(again).toMatchObject({
        status: 200,
        body: { size: 9, charged: 0.01, balance: 4.98 },
      });
      expect((await sut.download(user, '/me/files/bin/data.bin')).bytes).toEqual(bytes);
      expect(await sut.balance(user)).toBe(4.98);
    });

    it('answers 404 for a missing file and deletes with 204', async () => {
      const user = await sut.signUp('pro');
      expect((await sut.put(user, '/me/files/bin/data.bin', 'data')).status).toBe(201);
      expect(await sut.call(user, '/me/files/nope.txt')).toMatchObject({ status: 404 });
      expect(await sut.call(user, '/me/files/bin/data.bin', { method: 'DELETE' })).toMatchObject({
        status: 204,
      });
      expect(existsSync(sut.onDisk(user, 'bin/data.bin'))).toBe(false);
      expect(await sut.call(user, '/me/files/bin/data.bin', { method: 'DELETE' })).toMatchObject({
        status: 404,
      });
      // Deleting is free: only the write was charged.
      expect(await sut.balance(user)).toBe(4.99);
    });
  });

  describe('writes that do not happen cost nothing', () => {
    it('refuses path tricks with 400 before charging', async () => {
      const [user, other] = [await sut.signUp('pro'), await sut.signUp('free')];
      expect((await sut.put(other, '/me/files/notes/a.txt', 'bob was here')).status).toBe(201);
      const before = await sut.ledger(user);
      for (const path of [
        '/me/files/%2e%2e/%2e%2e/escape.txt',
        '/me/files/..%2f..%2fescape.txt',
        '/me/files/notes%2Fa.txt',
        '/me/files/a%00b',
        '/me/files/notes//a.txt',
        `/me/files/${other.userId}%2fnotes%2fa.txt`,
      ]) {
        const response = await putVerbatim(user, path, 'evil');
        expect({ path, status: response.status, body: response.body }).toEqual({
          path,
          status: 400,
          body: { error: 'invalid file path' },
        });
      }
      expect(await sut.ledger(user)).toEqual(before);
      expect(readFileSync(sut.onDisk(other, 'notes/a.txt'), 'utf8')).toBe('bob was here');
    });

    it('refunds a write the filesystem refuses (quota, 413): deduct + top_up, balance unchanged', async () => {
      const user = await sut.signUp('pro');
      const before = await sut.balance(user);
      const response = await sut.put(
        user,
        '/me/files/big.bin',
        Buffer.alloc(FS_MAX_USER_BYTES + 1),
      );
      expect(response.status).toBe(413);
      expect(response.body).toEqual({ error: expect.any(String) });
      expect(existsSync(sut.onDisk(user, 'big.bin'))).toBe(false);

      const [refund, deduct] = await sut.ledger(user);
      expect(deduct).toMatchObject({ kind: 'deduct', amount: -0.01 });
      expect(refund).toMatchObject({
        kind: 'top_up',
        amount: 0.01,
        reason: expect.stringMatching(/^release of hold r[0-9a-f]{32}$/),
        balance_after: before,
      });
      expect(await sut.balance(user)).toBe(before);
    });

    it('refuses an upload over the backend limit with 413 before charging anything', async () => {
      const user = await sut.signUp('pro');
      const before = await sut.ledger(user);
      const response = await sut.put(
        user,
        '/me/files/huge.bin',
        Buffer.alloc(BACKEND_MAX_FILE_BYTES + 1),
      );
      expect(response).toMatchObject({
        status: 413,
        body: { error: `file is larger than ${BACKEND_MAX_FILE_BYTES} bytes` },
      });
      expect(await sut.ledger(user)).toEqual(before);
      expect(existsSync(sut.onDisk(user, 'huge.bin'))).toBe(false);
    });

    it('answers 402 with the balance when funds are short, writing nothing', async () => {
      // A free user has 1 credit; leave it half the price of a write.
      const user = await sut.signUp('free');
      const drain = await request(`${sut.url('billing-server')}/deduct`, {
        method: 'POST',
        json: { user_id: user.userId, amount: '0.995', reason: 'test drain' },
        headers: await sut.internal('backend', 'billing-server'),
      });
      expect(drain).toMatchObject({ status: 200, body: { balance: 0.005 } });
      const before = await sut.ledger(user);

      const response = await sut.put(user, '/me/files/notes/second.txt', 'no money');
      expect(response).toMatchObject({
        status: 402,
        body: { error: 'insufficient funds', balance: 0.005 },
      });
      expect(existsSync(sut.onDisk(user, 'notes/second.txt'))).toBe(false);
      expect(await sut.ledger(user)).toEqual(before);
      expect(await sut.call(user, '/me')).toMatchObject({ body: { balance: 0.005 } });
    });
  });

  it('never logs the internal token nor an access token', () => {
    sut.expectNoSecretInLogs();
  });
});
