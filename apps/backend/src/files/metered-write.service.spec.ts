import { HttpException, Logger } from '@nestjs/common';
import {
  InternalHttpClient,
  type InternalClientConfig,
  UpstreamUnavailableError,
} from '@zt/service-utils';
import type { ServerResponse } from 'node:http';
import {
  closedPort,
  type ScriptedServer,
  type SeenRequest,
  sendJson,
  startScriptedServer,
} from '../testing/scripted-server';
import { BillingClient } from '../upstreams/billing.client';
import { FilesystemClient } from '../upstreams/filesystem.client';
import { UnexpectedUpstreamAnswerError } from '../upstreams/unexpected-upstream-answer.error';
import { MeteredWriteService, type WriteRequest } from './metered-write.service';

const TOKEN = 'q3V9sLk2Xw8RzT1mN6pB4yH7cJ0dF5gA';
const USER_ID = '3f1c2b9e-7a41-4c55-9d0e-2b6f8a1c4d7e';
const CLIENT: InternalClientConfig = {
  timeoutMs: 500,
  retries: 1,
  breakerResetMs: 1000,
  breakerErrorThresholdPercent: 50,
  breakerVolumeThreshold: 100,
};

type Answer = (request: SeenRequest, response: ServerResponse) => void;
const json =
  (status: number, body: unknown): Answer =>
  (_request, response) =>
    sendJson(response, status, body);
/** Drops the connection without an answer. */
const hangUp: Answer = (_request, response) => response.socket?.destroy();

/**
 * Billing and filesystem stand-ins on real ports, each answering per endpoint as the test
 * says, and the service under test wired to them through the real internal client.
 */
describe(MeteredWriteService.name, () => {
  let billing: ScriptedServer;
  let filesystem: ScriptedServer;
  let client: InternalHttpClient;
  let sut: MeteredWriteService;
  let logged: Array<Record<string, unknown>>;
  let answers: { deduct: Answer; topUp: Answer; write: Answer; read: Answer };

  const wire = (billingUrl: string, filesystemUrl: string) => {
    client?.onApplicationShutdown();
    client = new InternalHttpClient(
      {
        callerName: 'backend',
        upstreams: { billing: { baseUrl: billingUrl }, filesystem: { baseUrl: filesystemUrl } },
        client: CLIENT,
      },
      { sendToken: TOKEN, acceptedTokens: [TOKEN] },
    );
    sut = new MeteredWriteService(new BillingClient(client), new FilesystemClient(client), {
      fileWritePrice: '0.01',
      maxFileBytes: 1024,
      uploadBudgetBytes: 4096,
    });
  };

  beforeEach(async () => {
    answers = {
      deduct: json(200, { user_id: USER_ID, balance: 4.99, transaction_id: 't1' }),
      topUp: json(200, { user_id: USER_ID, balance: 5, transaction_id: 't2' }),
      write: json(201, { path: 'notes/a.txt', size: 5 }),
      read: json(404, { error: 'file not found' }),
    };
    billing = await startScriptedServer((request, response) =>
      (request.url === '/deduct' ? answers.deduct : answers.topUp)(request, response),
    );
    filesystem = await startScriptedServer((request, response) =>
      (request.method === 'GET' ? answers.read : answers.write)(request, response),
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
      user: { userId: USER_ID, email: 'ada@example.com' },
      encodedPath: 'notes/a.txt',
      bytes: Buffer.from('hello'),
      clientKey: 'client-key-1',
      ...overrides,
    });
  const calls = (server: ScriptedServer) => server.seen.map((seen) => `${seen.method} ${seen.url}`);
  const bodyOf = (seen: SeenRequest) => JSON.parse(seen.body.toString('utf8')) as unknown;

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

  it('deducts under the derived key, then writes for the token user, and reports the charge', async () => {
    const result = await write();
    expect(result).toEqual({
      status: 201,
      body: { path: 'notes/a.txt', size: 5, charged: 0.01, balance: 4.99 },
      replayed: false,
    });

    expect(calls(billing)).toEqual(['POST /deduct']);
    const [deduct] = billing.seen;
    expect(deduct.headers['idempotency-key']).toBe(`charge:${USER_ID}:client-key-1`);
    expect(deduct.headers['x-internal-token']).toBe(TOKEN);
    expect(bodyOf(deduct)).toEqual({
      user_id: USER_ID,
      amount: '0.01',
      reason: expect.stringMatching(/^file write [0-9a-f]{32}$/),
    });

    expect(calls(filesystem)).toEqual(['PUT /files/notes/a.txt']);
    const [stored] = filesystem.seen;
    expect(stored.headers['x-user-id']).toBe(USER_ID);
    expect(stored.body.toString('utf8')).toBe('hello');
  });

  it('uses a fresh random key when the client sent none', async () => {
    await write({ clientKey: undefined });
    await write({ clientKey: undefined });
    const keys = billing.seen.map((seen) => seen.headers['idempotency-key']);
    for (const key of keys) {
      expect(key).toMatch(new RegExp(`^charge:${USER_ID}:[0-9a-f-]{36}$`));
    }
    expect(keys[0]).not.toBe(keys[1]);
  });

  it('binds the key to the write: another path or other bytes give another reason', async () => {
    await write();
    await write({ bytes: Buffer.from('other') });
    await write({ encodedPath: 'notes/b.txt' });
    const reasons = billing.seen.map((seen) => (bodyOf(seen) as { reason: string }).reason);
    expect(new Set(reasons).size).toBe(3);
  });

  it('forwards the path still percent-encoded', async () => {
    await write({ encodedPath: 'a%20b/%C3%A9.txt' });
    expect(calls(filesystem)).toEqual(['PUT /files/a%20b/%C3%A9.txt']);
  });

  describe('a retry whose charge billing replays', () => {
    beforeEach(() => {
      answers.deduct = (_request, response) => {
        response.writeHead(200, {
          'content-type': 'application/json',
          'idempotent-replayed': 'true',
        });
        response.end(JSON.stringify({ user_id: USER_ID, balance: 4.99, transaction_id: 't1' }));
      };
    });

    it('answers the earlier success when the same bytes are stored, writing and refunding nothing', async () => {
      answers.read = (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/octet-stream' });
        response.end('hello');
      };
      expect(await write({ encodedPath: 'notes/a%20b.txt' })).toEqual({
        status: 200,
        body: { path: 'notes/a b.txt', size: 5, charged: 0.01, balance: 4.99 },
        replayed: true,
      });
      expect(calls(filesystem)).toEqual(['GET /files/notes/a%20b.txt']);
      expect(calls(billing)).toEqual(['POST /deduct']);
    });

    it.each([
      ['after a refund (the file was never stored)', 404, ''],
      ['after the file was deleted or replaced', 200, 'other'],
    ])(
      'refuses with 409 %s: no free write, no second refund',
      async (_case, readStatus, stored) => {
        answers.read = (_request, response) => {
          response.writeHead(readStatus, { 'content-type': 'application/octet-stream' });
          response.end(stored);
        };
        // Even a write that would fail now must not be refunded: the charge paid an earlier one.
        answers.write = json(409, { error: 'a parent folder on this path is a file' });
        expect(await httpFailure(write())).toEqual({
          status: 409,
          body: {
            error:
              'this Idempotency-Key was already settled by an earlier write; send a new write with a new key',
          },
        });
        expect(calls(filesystem)).toEqual(['GET /files/notes/a.txt']);
        expect(calls(billing)).toEqual(['POST /deduct']);
      },
    );
  });

  describe('a charge whose outcome was left open', () => {
    const replayedCharge: Answer = (_request, response) => {
      response.writeHead(200, {
        'content-type': 'application/json',
        'idempotent-replayed': 'true',
      });
      response.end(JSON.stringify({ user_id: USER_ID, balance: 4.99, transaction_id: 't1' }));
    };
    /** Answers the n-th deduct (from 0) with `answersInOrder[n]`, the last one after that. */
    const inOrder = (...answersInOrder: Answer[]): Answer => {
      let n = 0;
      return (request, response) =>
        answersInOrder[Math.min(n++, answersInOrder.length - 1)](request, response);
    };
    const never: Answer = () => undefined;

    it('is this request own when the client retry is answered with a replay: it writes', async () => {
      // The first attempt times out after billing took the charge; the retry gets the replay.
      answers.deduct = inOrder(never, replayedCharge);
      expect(await write()).toMatchObject({ status: 201, replayed: false });
      expect(calls(filesystem)).toEqual(['PUT /files/notes/a.txt']);
    });

    it('asks again under the same key after 5xx answers, and writes on the definite answer', async () => {
      answers.deduct = inOrder(json(503, {}), json(503, {}), replayedCharge);
      expect(await write()).toMatchObject({ status: 201 });
      const keys = billing.seen.map((seen) => seen.headers['idempotency-key']);
      expect(keys).toEqual(Array(3).fill(`charge:${USER_ID}:client-key-1`));
      expect(calls(filesystem)).toEqual(['PUT /files/notes/a.txt']);
    });

    it('waits out a 409 (its own first attempt still in flight) once the outcome is open', async () => {
      answers.deduct = inOrder(json(503, {}), json(503, {}), json(409, {}), replayedCharge);
      expect(await write()).toMatchObject({ status: 201 });
      expect(calls(filesystem)).toEqual(['PUT /files/notes/a.txt']);
    });

    it('logs charge_unknown with the key when the outcome stays open, writing nothing', async () => {
      answers.deduct = json(503, {});
      const error = await failure(write());
      expect(error).toBeInstanceOf(UpstreamUnavailableError);
      expect(logged).toContainEqual({
        event: 'charge_unknown',
        idempotency_key: `charge:${USER_ID}:client-key-1`,
        user_id: USER_ID,
      });
      expect(filesystem.seen).toHaveLength(0);
    });

    it('does not ask again after a refused connection: the charge cannot have happened', async () => {
      wire(`http://127.0.0.1:${await closedPort()}`, filesystem.url);
      expect(await failure(write())).toBeInstanceOf(UpstreamUnavailableError);
      expect(logged).not.toContainEqual(expect.objectContaining({ event: 'charge_unknown' }));
    });
  });

  it('writes nothing when funds are short: 402 with the balance', async () => {
    answers.deduct = json(402, { error: 'insufficient funds', balance: 0.005 });
    expect(await httpFailure(write())).toEqual({
      status: 402,
      body: { error: 'insufficient funds', balance: 0.005 },
    });
    expect(filesystem.seen).toHaveLength(0);
  });

  it.each([
    [404, { error: 'account not found' }],
    [409, { error: 'a write with this Idempotency-Key is still in progress' }],
    [422, { error: 'this Idempotency-Key was used for a different write' }],
  ])('answers %p when the deduct is refused so, writing nothing', async (status, expected) => {
    answers.deduct = json(status, { error: 'whatever billing says' });
    expect(await httpFailure(write())).toEqual({ status, body: expected });
    expect(filesystem.seen).toHaveLength(0);
  });

  it('writes nothing when billing is down: the error is billing unavailable', async () => {
    wire(`http://127.0.0.1:${await closedPort()}`, filesystem.url);
    const error = await failure(write());
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect((error as UpstreamUnavailableError).upstream).toBe('billing');
    expect(filesystem.seen).toHaveLength(0);
  });

  it.each([
    [400, { error: 'file path has an encoded slash (%2F) inside a segment' }],
    [413, { error: 'user quota of 100 bytes exceeded' }],
  ])(
    'refunds under refund:<sub>:<key> when the filesystem refuses with %p, and passes the answer on',
    async (status, body) => {
      answers.write = json(status, body);
      expect(await httpFailure(write())).toEqual({ status, body });
      expect(calls(billing)).toEqual(['POST /deduct', 'POST /top_up']);
      const [deduct, refund] = billing.seen;
      expect(deduct.headers['idempotency-key']).toBe(`charge:${USER_ID}:client-key-1`);
      expect(refund.headers['idempotency-key']).toBe(`refund:${USER_ID}:client-key-1`);
      expect(bodyOf(refund)).toEqual({
        user_id: USER_ID,
        amount: '0.01',
        reason: expect.stringMatching(/^file write refund [0-9a-f]{32}$/),
      });
      expect(logged).toContainEqual(expect.objectContaining({ event: 'write_refunded' }));
    },
  );

  it('refunds when the filesystem is unreachable, and answers filesystem unavailable', async () => {
    answers.write = hangUp;
    const error = await failure(write());
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect((error as UpstreamUnavailableError).upstream).toBe('filesystem');
    expect(calls(billing)).toEqual(['POST /deduct', 'POST /top_up']);
  });

  it('refunds when the filesystem refuses the credential, and answers 500', async () => {
    answers.write = json(403, { error: 'Forbidden' });
    expect(await failure(write())).toBeInstanceOf(UnexpectedUpstreamAnswerError);
    expect(calls(billing)).toEqual(['POST /deduct', 'POST /top_up']);
  });

  it('logs refund_failed with the key and answers billing unavailable when the refund cannot be made', async () => {
    answers.write = json(413, { error: 'too large' });
    answers.topUp = hangUp;
    const error = await failure(write());
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect((error as UpstreamUnavailableError).upstream).toBe('billing');
    expect(logged).toContainEqual(
      expect.objectContaining({
        event: 'refund_failed',
        idempotency_key: `refund:${USER_ID}:client-key-1`,
        user_id: USER_ID,
        amount: '0.01',
        refund_reason: expect.stringMatching(/^file write refund [0-9a-f]{32}$/),
      }),
    );
    expect(JSON.stringify(logged)).not.toContain(TOKEN);
  });

  it('treats a refund that billing refuses as failed, too', async () => {
    answers.write = json(400, { error: 'bad path' });
    answers.topUp = json(404, { error: 'account not found' });
    expect(await failure(write())).toBeInstanceOf(UpstreamUnavailableError);
    expect(logged).toContainEqual(expect.objectContaining({ event: 'refund_failed', status: 404 }));
  });

  it('keeps long keys within billing limits', async () => {
    const longUser = `u${'x'.repeat(127)}`;
    await write({ user: { userId: longUser, email: 'x@example.com' }, clientKey: 'k'.repeat(200) });
    const key = billing.seen[0].headers['idempotency-key'] as string;
    expect(key.length).toBeLessThanOrEqual(255);
    expect(key).toMatch(new RegExp(`^charge:${longUser}:sha256-`));
  });
});
