import { HttpException, Logger } from '@nestjs/common';
import {
  InternalHttpClient,
  type InternalClientConfig,
  UpstreamUnavailableError,
} from '@zt/service-chassis';
import type { ServerResponse } from 'node:http';
import {
  closedPort,
  type ScriptedServer,
  type SeenRequest,
  sendJson,
  startScriptedServer,
} from '@zt/test-kit';
import { BillingClient } from '../upstreams/billing.client';
import { FilesystemClient } from '../upstreams/filesystem.client';
import type { FilesOptions } from './files.constants';
import { MeteredWriteService, type WriteRequest } from './metered-write.service';
import { PendingWritesResolver } from './pending-writes.resolver';
import { WriteSettlement } from './write-settlement';
import { signedInUser } from '../testing/authenticated-user';
import { UserAssertions } from '../upstreams/user-assertions';

const TOKEN = 'q3V9sLk2Xw8RzT1mN6pB4yH7cJ0dF5gA';
const USER_ID = '3f1c2b9e-7a41-4c55-9d0e-2b6f8a1c4d7e';
// No test here waits for a deadline (an upstream that fails hangs up at once): one far above
// any answer of a busy machine, so that no call is retried by accident.
const CLIENT: InternalClientConfig = {
  timeoutMs: 10_000,
  retries: 1,
  breakerResetMs: 1000,
  breakerErrorThresholdPercent: 50,
  breakerVolumeThreshold: 100,
};
const OPTIONS: FilesOptions = {
  fileWritePrice: '0.01',
  maxFileBytes: 1024,
  uploadBudgetBytes: 4096,
  settleAfterSeconds: 60,
  settleIntervalMs: 60_000,
};

type Answer = (request: SeenRequest, response: ServerResponse) => void;
const json =
  (status: number, body: unknown, headers: Record<string, string> = {}): Answer =>
  (_request, response) => {
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(JSON.stringify(body));
  };
/** Drops the connection without an answer. */
const hangUp: Answer = (_request, response) => response.socket?.destroy();
/** A hold as billing's contract answers it. */
const holdAs = (holdId: string, userId: string, state: string, balance?: number) => ({
  hold_id: holdId,
  user_id: userId,
  amount: 0.01,
  reason: 'file write 0123456789abcdef0123456789abcdef',
  state,
  ...(balance === undefined ? {} : { balance }),
  charge_transaction_id: '6f1c2b9e-7a41-4c55-9d0e-2b6f8a1c4d7e',
  refund_transaction_id: state === 'released' ? '7f1c2b9e-7a41-4c55-9d0e-2b6f8a1c4d7e' : null,
  created_at: '2026-11-30T08:00:00.000Z',
  settled_at: state === 'held' ? null : '2026-11-30T08:00:01.000Z',
});
const hold = (state: string, balance = 4.99) => holdAs('w', USER_ID, state, balance);

interface Answers {
  place: Answer;
  capture: Answer;
  release: Answer;
  list: Answer;
  write: Answer;
  resolve: Answer;
}

/**
 * Billing and filesystem stand-ins on real ports, each answering per endpoint as the test
 * says, and the services under test wired to them through the real internal client.
 */
describe('metered writes', () => {
  let billing: ScriptedServer;
  let filesystem: ScriptedServer;
  let client: InternalHttpClient;
  let sut: MeteredWriteService;
  let resolver: PendingWritesResolver;
  let logged: Array<Record<string, unknown>>;
  let answers: Answers;

  const wire = (billingUrl: string, filesystemUrl: string) => {
    client?.onApplicationShutdown();
    client = new InternalHttpClient({
      callerName: 'backend',
      upstreams: { billing: { baseUrl: billingUrl }, filesystem: { baseUrl: filesystemUrl } },
      client: CLIENT,
      internalAuth: { sendToken: TOKEN, acceptedTokens: [TOKEN] },
    });
    const proofs = new UserAssertions({ mode: 'off' });
    const billingClient = new BillingClient(client, proofs);
    const filesystemClient = new FilesystemClient(client, proofs);
    const settlement = new WriteSettlement(billingClient, filesystemClient);
    sut = new MeteredWriteService(billingClient, filesystemClient, settlement, OPTIONS);
    resolver = new PendingWritesResolver(billingClient, settlement, OPTIONS);
  };

  beforeEach(async () => {
    answers = {
      place: json(201, hold('held')),
      capture: json(200, hold('captured')),
      release: json(200, hold('released', 5)),
      list: json(200, { holds: [], next_after: null }),
      write: json(201, { path: 'notes/a.txt', size: 5 }),
      resolve: json(200, { write_id: 'w', outcome: 'aborted' }),
    };
    billing = await startScriptedServer((request, response) => {
      if (request.method === 'GET') return answers.list(request, response);
      if (request.url === '/holds') return answers.place(request, response);
      return (request.url.endsWith('/capture') ? answers.capture : answers.release)(
        request,
        response,
      );
    });
    filesystem = await startScriptedServer((request, response) =>
      (request.method === 'PUT' ? answers.write : answers.resolve)(request, response),
    );
    wire(billing.url, filesystem.url);
    logged = [];
    for (const level of ['log', 'warn', 'error'] as const) {
      jest.spyOn(Logger.prototype, level).mockImplementation((...[entry]: unknown[]) => {
        logged.push(entry as Record<string, unknown>);
      });
    }
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    client.onApplicationShutdown();
    await Promise.all([billing.close(), filesystem.close()]);
  });

  const write = (overrides: Partial<WriteRequest> = {}) =>
    sut.write({
      user: signedInUser(USER_ID, 'ada@example.com'),
      encodedPath: 'notes/a.txt',
      bytes: Buffer.from('hello'),
      clientKey: 'client-key-1',
      ...overrides,
    });
  const calls = (server: ScriptedServer) => server.seen.map((seen) => `${seen.method} ${seen.url}`);
  const bodyOf = (seen: SeenRequest) => JSON.parse(seen.body.toString('utf8')) as unknown;
  const writeIdOf = () => filesystem.seen[0]?.headers['x-write-id'] ?? holdIdOf(billing.seen[0]);
  const holdIdOf = (seen: SeenRequest) => (bodyOf(seen) as { hold_id: string }).hold_id;
  const events = () => logged.map((entry) => entry['event']);

  async function failure(promise: Promise<unknown>): Promise<unknown> {
    try {
      await promise;
    } catch (error) {
      return error;
    }
    throw new Error('expected the write to fail');
  }
  const httpFailure = async (promise: Promise<unknown>) => {
    const error = await failure(promise);
    if (!(error instanceof HttpException)) throw error;
    return { status: error.getStatus(), body: error.getResponse() };
  };

  describe('a write that goes through', () => {
    it('holds the price, writes as the same write id for the token user, then captures', async () => {
      expect(await write()).toEqual({
        status: 201,
        body: { path: 'notes/a.txt', size: 5, charged: 0.01, balance: 4.99 },
        replayed: false,
      });
      const writeId = writeIdOf();
      expect(writeId).toMatch(/^k[A-Za-z0-9_-]{43}$/);
      expect(calls(billing)).toEqual(['POST /holds', `POST /holds/${writeId}/capture`]);
      expect(billing.seen[0].headers['x-internal-token']).toBe(TOKEN);
      expect(bodyOf(billing.seen[0])).toEqual({
        hold_id: writeId,
        user_id: USER_ID,
        amount: '0.01',
        reason: expect.stringMatching(/^file write [0-9a-f]{32}$/),
      });
      expect(calls(filesystem)).toEqual(['PUT /files/notes/a.txt']);
      expect(filesystem.seen[0].headers['x-user-id']).toBe(USER_ID);
      expect(filesystem.seen[0].body.toString('utf8')).toBe('hello');
    });

    it('derives the write id from user and key: a retry meets its write, another user never', async () => {
      await write();
      await write();
      await write({ user: signedInUser('someone-else', 'b@example.com') });
      const ids = billing.seen
        .filter((seen) => seen.url === '/holds')
        .map((seen) => holdIdOf(seen));
      expect(ids[0]).toBe(ids[1]);
      expect(ids[2]).not.toBe(ids[0]);
    });

    it('uses a fresh random write id when the client sent no key', async () => {
      await write({ clientKey: undefined });
      await write({ clientKey: undefined });
      const ids = billing.seen
        .filter((seen) => seen.url === '/holds')
        .map((seen) => holdIdOf(seen));
      for (const id of ids) expect(id).toMatch(/^r[0-9a-f]{32}$/);
      expect(ids[0]).not.toBe(ids[1]);
    });

    it('binds the hold to the write: another path or other bytes give another reason', async () => {
      await write();
      await write({ bytes: Buffer.from('other') });
      await write({ encodedPath: 'notes/b.txt' });
      const reasons = billing.seen
        .filter((seen) => seen.url === '/holds')
        .map((seen) => (bodyOf(seen) as { reason: string }).reason);
      expect(new Set(reasons).size).toBe(3);
    });

    it('forwards the path still percent-encoded', async () => {
      await write({ encodedPath: 'a%20b/%C3%A9.txt' });
      expect(calls(filesystem)).toEqual(['PUT /files/a%20b/%C3%A9.txt']);
    });

    it('answers a retry of a finished write from the request: nothing written, settled or charged', async () => {
      answers.place = json(200, hold('captured'));
      expect(await write({ encodedPath: 'notes/a%20b.txt' })).toEqual({
        status: 200,
        body: { path: 'notes/a b.txt', size: 5, charged: 0.01, balance: 4.99 },
        replayed: true,
      });
      expect(calls(billing)).toEqual(['POST /holds']);
      expect(calls(filesystem)).toEqual([]);
    });

    it('completes a retry whose hold is still held: the filesystem replays, then the capture', async () => {
      answers.place = json(200, hold('held'));
      answers.write = json(201, { path: 'notes/a.txt', size: 5 }, { 'write-replayed': 'true' });
      expect(await write()).toEqual({
        status: 201,
        body: { path: 'notes/a.txt', size: 5, charged: 0.01, balance: 4.99 },
        replayed: true,
      });
      expect(calls(billing)).toEqual(['POST /holds', `POST /holds/${writeIdOf()}/capture`]);
    });

    it('still answers the stored write when the capture cannot be made now (the resolver will)', async () => {
      answers.capture = hangUp;
      expect(await write()).toMatchObject({ status: 201, body: { balance: 4.99 } });
      expect(logged).toContainEqual(
        expect.objectContaining({ event: 'write_settlement_deferred', settlement: 'capture' }),
      );
    });
  });

  describe('an outcome left unknown is resolved, never guessed', () => {
    it('captures a write whose answer was lost but which the filesystem stored (no free write)', async () => {
      answers.write = hangUp;
      answers.resolve = json(200, {
        write_id: 'w',
        outcome: 'applied',
        path: 'notes/a.txt',
        size: 5,
      });
      expect(await write()).toEqual({
        status: 200,
        body: { path: 'notes/a.txt', size: 5, charged: 0.01, balance: 4.99 },
        replayed: true,
      });
      const writeId = writeIdOf();
      expect(calls(filesystem)).toContain(`POST /writes/${writeId}/resolve`);
      expect(calls(billing)).toEqual(['POST /holds', `POST /holds/${writeId}/capture`]);
    });

    it('releases a write whose answer was lost and which the filesystem did not store', async () => {
      answers.write = hangUp;
      const error = await failure(write());
      expect(error).toBeInstanceOf(UpstreamUnavailableError);
      expect((error as UpstreamUnavailableError).upstream).toBe('filesystem');
      expect(calls(billing)).toEqual(['POST /holds', `POST /holds/${writeIdOf()}/release`]);
    });

    it('leaves the hold held when the filesystem cannot say: no refund of what may have landed', async () => {
      answers.write = hangUp;
      answers.resolve = hangUp;
      const error = await failure(write());
      expect(error).toBeInstanceOf(UpstreamUnavailableError);
      expect(calls(billing)).toEqual(['POST /holds']);
      expect(events()).toContain('write_outcome_open');
    });
  });

  describe('a write that does not happen costs nothing', () => {
    it('releases after the filesystem refuses and confirms the write aborted: its error is answered', async () => {
      answers.write = json(413, { error: 'storage quota of 10 bytes would be exceeded' });
      expect(await httpFailure(write())).toEqual({
        status: 413,
        body: { error: 'storage quota of 10 bytes would be exceeded' },
      });
      const writeId = writeIdOf();
      expect(calls(filesystem)).toEqual([
        'PUT /files/notes/a.txt',
        `POST /writes/${writeId}/resolve`,
      ]);
      expect(calls(billing)).toEqual(['POST /holds', `POST /holds/${writeId}/release`]);
    });

    it('captures instead when the resolve finds the write stored by a concurrent retry', async () => {
      answers.write = json(429, { error: 'too many writes in progress for this user' });
      answers.resolve = json(200, {
        write_id: 'w',
        outcome: 'applied',
        path: 'notes/a.txt',
        size: 5,
      });
      expect(await write()).toMatchObject({ status: 200, replayed: true });
      expect(calls(billing)).toEqual(['POST /holds', `POST /holds/${writeIdOf()}/capture`]);
    });

    it('answers 409 when the resolver cancelled the write before it arrived, and releases', async () => {
      answers.write = json(409, { error: 'write aborted' });
      expect(await httpFailure(write())).toEqual({
        status: 409,
        body: {
          error:
            'this write was cancelled before it was stored and nothing was charged; send it again with a new Idempotency-Key',
        },
      });
      expect(calls(billing)).toEqual(['POST /holds', `POST /holds/${writeIdOf()}/release`]);
    });

    it('refuses a retry whose hold was released (409), writing nothing', async () => {
      answers.place = json(200, hold('released', 5));
      expect(await httpFailure(write())).toEqual({
        status: 409,
        body: {
          error:
            'this Idempotency-Key was already settled by an earlier write; send a new write with a new key',
        },
      });
      expect(calls(filesystem)).toEqual([]);
    });

    it('writes nothing when funds are short: 402 with the balance', async () => {
      answers.place = json(402, { error: 'insufficient funds', balance: 0.005 });
      expect(await httpFailure(write())).toEqual({
        status: 402,
        body: { error: 'insufficient funds', balance: 0.005 },
      });
      expect(calls(filesystem)).toEqual([]);
    });

    it('maps a hold id reused for another write to 422 and an unknown account to 404', async () => {
      answers.place = json(422, { error: 'this hold_id was used for a different hold' });
      expect(await httpFailure(write())).toEqual({
        status: 422,
        body: { error: 'this Idempotency-Key was used for a different write' },
      });
      answers.place = json(404, { error: 'account not found' });
      expect(await httpFailure(write())).toEqual({
        status: 404,
        body: { error: 'account not found' },
      });
      expect(calls(filesystem)).toEqual([]);
    });

    it('asks for the hold again while billing does not answer, then gives up: billing unavailable', async () => {
      answers.place = hangUp;
      const error = await failure(write());
      expect(error).toBeInstanceOf(UpstreamUnavailableError);
      expect((error as UpstreamUnavailableError).upstream).toBe('billing');
      expect(calls(billing)).toEqual(['POST /holds', 'POST /holds', 'POST /holds']);
      expect(calls(filesystem)).toEqual([]);
      expect(events()).toContain('hold_outcome_open');
    });

    it('holds nothing while the filesystem breaker is open', async () => {
      wire(billing.url, `http://127.0.0.1:${await closedPort()}`);
      const down = jest.spyOn(FilesystemClient.prototype, 'knownDown').mockReturnValue(true);
      const error = await failure(write());
      expect(error).toBeInstanceOf(UpstreamUnavailableError);
      expect((error as UpstreamUnavailableError).reason).toBe('breaker_open');
      expect(calls(billing)).toEqual([]);
      down.mockRestore();
    });
  });

  describe('the resolver', () => {
    const open = (id: string, user = USER_ID) => holdAs(id, user, 'held');

    it('settles every open hold by the filesystem outcome, page by page', async () => {
      const pages = [
        { holds: [open('w-applied'), open('w-aborted', 'bob')], next_after: '2' },
        { holds: [open('w-last')], next_after: null },
      ];
      answers.list = (request, response) =>
        sendJson(response, 200, request.url.includes('after=2') ? pages[1] : pages[0]);
      answers.resolve = (request, response) =>
        sendJson(
          response,
          200,
          request.url.includes('w-applied')
            ? { write_id: 'w-applied', outcome: 'applied', path: 'a.txt', size: 1 }
            : { write_id: 'w', outcome: 'aborted' },
        );

      expect(await resolver.settleOpenHolds()).toEqual({ captured: 1, released: 2, left: 0 });
      expect(calls(billing)).toEqual([
        'GET /holds?state=held&older_than_seconds=60&limit=100',
        'POST /holds/w-applied/capture',
        'POST /holds/w-aborted/release',
        'GET /holds?state=held&older_than_seconds=60&limit=100&after=2',
        'POST /holds/w-last/release',
      ]);
      const resolves = filesystem.seen.map((seen) => [seen.url, seen.headers['x-user-id']]);
      expect(resolves).toEqual([
        ['/writes/w-applied/resolve', USER_ID],
        ['/writes/w-aborted/resolve', 'bob'],
        ['/writes/w-last/resolve', USER_ID],
      ]);
    });

    it('releases nothing while the filesystem cannot say, and tries again next round', async () => {
      answers.list = json(200, { holds: [open('w-1'), open('w-2')], next_after: null });
      answers.resolve = hangUp;
      expect(await resolver.settleOpenHolds()).toMatchObject({ captured: 0, released: 0 });
      expect(calls(billing).filter((call) => call.startsWith('POST'))).toEqual([]);

      answers.resolve = json(200, { write_id: 'w', outcome: 'aborted' });
      expect(await resolver.settleOpenHolds()).toEqual({ captured: 0, released: 2, left: 0 });
    });

    it.each([
      ['a 4xx', json(400, { error: 'invalid user' })],
      ['a 5xx', json(500, { error: 'internal error' })],
      ['no answer', hangUp],
    ])('does not let one hold that gets %s hold up the others', async (_label, odd) => {
      answers.list = json(200, { holds: [open('w-odd'), open('w-fine')], next_after: null });
      answers.resolve = (request, response) =>
        request.url.includes('w-odd')
          ? odd(request, response)
          : sendJson(response, 200, {
              write_id: 'w-fine',
              outcome: 'applied',
              path: 'a.txt',
              size: 1,
            });
      expect(await resolver.settleOpenHolds()).toEqual({ captured: 1, released: 0, left: 1 });
      expect(calls(billing)).toContain('POST /holds/w-fine/capture');
      expect(events()).toContain('write_resolve_failed');
    });

    it('runs one round at a time', async () => {
      const [first, second] = [resolver.settleOpenHolds(), resolver.settleOpenHolds()];
      expect(first).toBe(second);
      await first;
      expect(calls(billing)).toHaveLength(1);
    });
  });
});
