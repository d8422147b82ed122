import { readMetric, request, testBackends, type TestResponse, type TestUser } from '@zt/test-kit';
import { existsSync, readFileSync } from 'node:fs';
import { type ClientRequest, type IncomingMessage, request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BACKEND_MAX_FILE_BYTES,
  BACKEND_UPLOAD_BUDGET_BYTES,
  BackendStack,
  FS_MAX_USER_BYTES,
} from './backend-stack';

const UPLOADS_BUSY = { error: 'too many uploads in progress, retry later' };

/**
 * The backend holds at most BACKEND_UPLOAD_BUDGET_BYTES of upload bodies at once: past it, an
 * upload is refused with 503 before it is read or charged, and every byte held comes back
 * however an upload ends. Uploads are held open on raw connections; each test signs up its
 * own users.
 */
describe.each(testBackends())('the global upload budget of the backend, on %s', (database) => {
  const sut = BackendStack.forSuite(database);

  /** The upload bytes the backend holds now, as its metrics say (scrape credential). */
  async function heldUploadBytes(): Promise<number | undefined> {
    const scrape = await request(`${sut.api}/metrics`, {
      headers: await sut.scrapeHeaders('backend'),
    });
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
  function openPut(user: TestUser, path: string, headers: Record<string, string>) {
    const { hostname, port } = new URL(sut.api);
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

  /** The answer to a PUT of `refused.txt` whose headers alone were sent; then hangs up. */
  async function answerToHeaders(
    user: TestUser,
    headers: Record<string, string>,
  ): Promise<TestResponse> {
    const { outgoing, answer } = openPut(user, '/me/files/refused.txt', headers);
    const response = await answer;
    outgoing.destroy();
    return response;
  }

  /**
   * Starts an upload of `bytes` that holds its share of the budget until `finish()`: with a
   * declared Content-Length, of which only the first KiB is sent (the backend reserves the
   * whole length before reading); or chunked, all its bytes sent but not the final chunk (the
   * backend reserves as they arrive).
   */
  function slowUpload(user: TestUser, path: string, bytes: Buffer, mode: 'declared' | 'chunked') {
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

  describe('BACKEND_UPLOAD_BUDGET_BYTES', () => {
    // Four uploads of a full user quota fill the budget exactly.
    const SHARE = BACKEND_UPLOAD_BUDGET_BYTES / 4;

    /** Four users who each hold a quarter of the budget, and one who finds it full. */
    async function holdersAndFrank(): Promise<{ holders: TestUser[]; frank: TestUser }> {
      const holders: TestUser[] = [];
      for (const name of ['dave', 'erin', 'fay', 'gus'])
        holders.push(await sut.signUp('pro', name));
      return { holders, frank: await sut.signUp('pro', 'frank') };
    }

    it('takes four uploads that each fill a user quota to fill the budget', () => {
      expect(SHARE).toBe(FS_MAX_USER_BYTES);
    });

    afterEach(() => {
      for (const outgoing of unfinished) outgoing.destroy();
    });

    it('refuses one more upload with 503 and Retry-After while other users hold it, charging nothing; takes it again once they finish', async () => {
      const { holders, frank } = await holdersAndFrank();
      expect(await heldUploadBytes()).toBe(0);
      const contents = holders.map((_, i) => Buffer.alloc(SHARE, 97 + i));
      const held = holders.map((user, i) =>
        slowUpload(user, '/me/files/held.bin', contents[i], i % 2 === 0 ? 'declared' : 'chunked'),
      );
      await untilHeld(BACKEND_UPLOAD_BUDGET_BYTES);
      const ledgerBefore = await sut.ledger(frank);

      // A small upload, body sent at once.
      const refused = await sut.put(frank, '/me/files/refused.txt', 'hello');
      expect(refused.status).toBe(503);
      expect(refused.body).toEqual(UPLOADS_BUSY);
      expect(refused.headers.get('retry-after')).toBe('1');

      // Headers only: answered before its body was sent, and the connection is closed.
      const early = await answerToHeaders(frank, { 'Content-Length': '5' });
      expect({ status: early.status, body: early.body }).toEqual({
        status: 503,
        body: UPLOADS_BUSY,
      });
      expect(early.headers.get('retry-after')).toBe('1');
      expect(early.headers.get('connection')).toBe('close');

      // A chunked upload does not start either.
      const chunked = await answerToHeaders(frank, { 'Transfer-Encoding': 'chunked' });
      expect({ status: chunked.status, body: chunked.body }).toEqual({
        status: 503,
        body: UPLOADS_BUSY,
      });

      // Nothing was charged or written for the refused user.
      expect(await sut.ledger(frank)).toEqual(ledgerBefore);
      expect(await sut.balance(frank)).toBe(5);
      expect(existsSync(sut.onDisk(frank, 'refused.txt'))).toBe(false);
      expect(await heldUploadBytes()).toBe(BACKEND_UPLOAD_BUDGET_BYTES);

      // The held uploads were only waiting for their bytes: each completes and is charged once.
      const written = await Promise.all(held.map((upload) => upload.finish()));
      for (const [i, response] of written.entries()) {
        expect({ status: response.status, body: response.body }).toEqual({
          status: 201,
          body: { path: 'held.bin', size: SHARE, charged: 0.01, balance: 4.99 },
        });
        expect(readFileSync(sut.onDisk(holders[i], 'held.bin'))).toEqual(contents[i]);
      }
      await untilHeld(0);

      const after = await sut.put(frank, '/me/files/after.txt', 'hello');
      expect(after).toMatchObject({ status: 201, body: { size: 5, charged: 0.01, balance: 4.99 } });
      expect((await sut.ledger(frank)).length).toBe(ledgerBefore.length + 1);
    });

    it('gets every byte back after aborts and failures: the whole budget can be held again, and no more', async () => {
      const { holders, frank } = await holdersAndFrank();
      const [dave, erin, fay, gus] = holders;
      // Gus fills his quota, so that the filesystem refuses his next write.
      expect((await sut.put(gus, '/me/files/held.bin', Buffer.alloc(SHARE))).status).toBe(201);

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
      expect(existsSync(sut.onDisk(dave, 'gone.bin'))).toBe(false);

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
      const balanceBefore = await sut.balance(gus);
      const refusedByFilesystem = await sut.put(gus, '/me/files/more.bin', Buffer.alloc(SHARE));
      expect(refusedByFilesystem.status).toBe(413);
      const [refund, deduct] = await sut.ledger(gus);
      expect([refund.kind, deduct.kind]).toEqual(['top_up', 'deduct']);
      expect(await sut.balance(gus)).toBe(balanceBefore);
      await untilHeld(0);

      // The whole budget again: four full shares are taken, and a fifth byte is not.
      const held = holders.map((user) =>
        slowUpload(user, '/me/files/again.bin', Buffer.alloc(SHARE), 'declared'),
      );
      await untilHeld(BACKEND_UPLOAD_BUDGET_BYTES);
      const ledgerBefore = await sut.ledger(frank);
      expect(await sut.put(frank, '/me/files/one-byte.txt', 'x')).toMatchObject({
        status: 503,
        body: UPLOADS_BUSY,
      });
      expect(await sut.ledger(frank)).toEqual(ledgerBefore);
      for (const upload of held) upload.hangUp();
      await untilHeld(0);
    });
  });

  it('never logs the internal token nor an access token', () => {
    sut.expectNoSecretInLogs();
  });
});
