import { HttpException } from '@nestjs/common';
import {
  type ClientRequest,
  createServer,
  request as httpRequest,
  type OutgoingHttpHeaders,
  type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { readUpload, UPLOADS_BUSY_MESSAGE } from './upload';
import { UploadBudget, type UploadReservation } from './upload-budget';

const MAX_BYTES = 800;
const BUDGET_BYTES = 1000;

/** How the server below ended one upload. */
interface Outcome {
  readonly status: number;
  readonly body: unknown;
  /** The budget's total right after readUpload was called, before any byte was read. */
  readonly heldAtStart: number;
}

/**
 * readUpload on a real HTTP server, as the controller uses it: a share of the budget opened
 * per request, released when the request ends whatever the outcome. The client side is a
 * raw `http.request`, so a test decides when each byte is sent and can hang up mid-body.
 */
describe(readUpload.name, () => {
  let budget: UploadBudget;
  let server: Server;
  let port: number;
  let outcomes: Outcome[];

  beforeEach(async () => {
    budget = new UploadBudget({
      fileWritePrice: '0.01',
      maxFileBytes: MAX_BYTES,
      uploadBudgetBytes: BUDGET_BYTES,
      settleAfterSeconds: 60,
      settleIntervalMs: 10_000,
    });
    outcomes = [];
    server = createServer((request, response) => {
      const reservation = budget.open();
      const reading = readUpload(request, MAX_BYTES, reservation);
      const heldAtStart = budget.held;
      void reading
        .then(
          (bytes) => ({ status: 200, body: { size: bytes.length } }),
          (error: unknown) =>
            error instanceof HttpException
              ? { status: error.getStatus(), body: error.getResponse() }
              : { status: 500, body: String(error) },
        )
        .then((answer) => {
          reservation.release();
          outcomes.push({ ...answer, heldAtStart });
          if (!response.destroyed) {
            response.writeHead(answer.status, { Connection: 'close' });
            response.end(JSON.stringify(answer.body));
          }
        });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** Starts a PUT whose body the test writes (and ends) itself. */
  function upload(headers: OutgoingHttpHeaders) {
    const outgoing: ClientRequest = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'PUT',
      path: '/upload',
      agent: false,
      headers,
    });
    const answer = new Promise<{ status: number; body: unknown }>((resolve, reject) => {
      outgoing.on('response', (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('end', () =>
          resolve({
            status: incoming.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown,
          }),
        );
      });
      outgoing.on('error', reject);
    });
    // The test may hang up on purpose; it then reads the server's outcome instead.
    answer.catch(() => undefined);
    outgoing.flushHeaders();
    return { outgoing, answer };
  }

  const declared = (bytes: number) => upload({ 'Content-Length': String(bytes) });
  const chunked = () => upload({ 'Transfer-Encoding': 'chunked' });

  async function until(condition: () => boolean, what: string): Promise<void> {
    for (let waited = 0; !condition(); waited += 5) {
      if (waited > 2000) throw new Error(`timed out waiting for ${what}`);
      await sleep(5);
    }
  }
  const held = (bytes: number) => until(() => budget.held === bytes, `${bytes} bytes held`);
  const settled = (count: number) => until(() => outcomes.length === count, `${count} outcomes`);

  /** Takes `bytes` of the budget as another upload in progress would. */
  function holdElsewhere(bytes: number): UploadReservation {
    const reservation = budget.open();
    expect(reservation.take(bytes)).toBe(true);
    return reservation;
  }

  it('reserves a declared Content-Length whole before reading a byte, and gives it back', async () => {
    const { outgoing, answer } = declared(600);
    await held(600);
    outgoing.end(Buffer.alloc(600, 1));
    expect(await answer).toEqual({ status: 200, body: { size: 600 } });
    expect(outcomes).toEqual([{ status: 200, body: { size: 600 }, heldAtStart: 600 }]);
    expect(budget.held).toBe(0);
  });

  it('takes a chunked body chunk by chunk as it arrives', async () => {
    const { outgoing, answer } = chunked();
    outgoing.write(Buffer.alloc(300));
    await held(300);
    outgoing.write(Buffer.alloc(200));
    await held(500);
    outgoing.end();
    expect(await answer).toEqual({ status: 200, body: { size: 500 } });
    expect(outcomes[0].heldAtStart).toBe(0);
    expect(budget.held).toBe(0);
  });

  it('refuses a declared body the budget cannot hold with 503, before its body is sent', async () => {
    const other = holdElsewhere(BUDGET_BYTES - 100);
    // Headers only: the answer comes while the client has not sent one byte of its body.
    const { outgoing, answer } = declared(101);
    expect(await answer).toEqual({ status: 503, body: { error: UPLOADS_BUSY_MESSAGE } });
    expect(UPLOADS_BUSY_MESSAGE).toBe('too many uploads in progress, retry later');
    outgoing.destroy();
    expect(budget.held).toBe(BUDGET_BYTES - 100);

    // What fits is still taken.
    const fits = declared(100);
    await held(BUDGET_BYTES);
    fits.outgoing.end(Buffer.alloc(100));
    expect(await fits.answer).toEqual({ status: 200, body: { size: 100 } });
    other.release();
    expect(budget.held).toBe(0);
  });

  it('does not start a chunked body while the budget is full', async () => {
    const other = holdElsewhere(BUDGET_BYTES);
    const { outgoing, answer } = chunked();
    expect(await answer).toEqual({ status: 503, body: { error: UPLOADS_BUSY_MESSAGE } });
    outgoing.destroy();
    other.release();
    expect(budget.held).toBe(0);
  });

  it('refuses a chunked body with 503 when the budget runs out mid-body, and gives back its share', async () => {
    const other = holdElsewhere(600);
    const { outgoing, answer } = chunked();
    outgoing.write(Buffer.alloc(300));
    await held(900);
    outgoing.write(Buffer.alloc(300));
    expect(await answer).toEqual({ status: 503, body: { error: UPLOADS_BUSY_MESSAGE } });
    outgoing.destroy();
    expect(budget.held).toBe(600);
    other.release();
    expect(budget.held).toBe(0);
  });

  it('answers 413 for a declared body over the limit without taking anything', async () => {
    const { outgoing, answer } = declared(MAX_BYTES + 1);
    expect(await answer).toEqual({
      status: 413,
      body: { error: `file is larger than ${MAX_BYTES} bytes` },
    });
    outgoing.destroy();
    expect(outcomes[0].heldAtStart).toBe(0);
    expect(budget.held).toBe(0);
  });

  it('answers 413 for a chunked body past the limit, and gives back what it took', async () => {
    const { outgoing, answer } = chunked();
    outgoing.write(Buffer.alloc(MAX_BYTES));
    await held(MAX_BYTES);
    outgoing.write(Buffer.alloc(1));
    expect(await answer).toMatchObject({ status: 413 });
    outgoing.destroy();
    expect(budget.held).toBe(0);
  });

  it.each([
    ['declared', () => declared(700)],
    ['chunked', () => chunked()],
  ])('gives back the share of a %s upload whose client hangs up mid-body', async (_kind, start) => {
    const { outgoing } = start();
    outgoing.write(Buffer.alloc(200));
    await until(() => budget.held >= 200, 'the upload to start');
    outgoing.destroy();
    await settled(1);
    expect(outcomes[0]).toMatchObject({
      status: 400,
      body: { error: 'incomplete request body' },
    });
    expect(budget.held).toBe(0);
    // The whole budget is there again.
    expect(budget.open().take(BUDGET_BYTES)).toBe(true);
  });
});
