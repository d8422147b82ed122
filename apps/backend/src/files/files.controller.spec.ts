import { HttpException } from '@nestjs/common';
import { UpstreamUnavailableError } from '@zt/service-chassis';
import type { Request } from 'express';
import type { ReplyControls } from '@zt/service-chassis';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { FilesController } from './files.controller';
import type { FilesService } from './files.service';
import type { MeteredWriteService, WriteRequest, WriteResult } from './metered-write.service';
import { UploadBudget } from './upload-budget';
import { signedInUser } from '../testing/authenticated-user';

const MAX_FILE_BYTES = 100;
const USER = signedInUser('3f1c2b9e-7a41-4c55-9d0e-2b6f8a1c4d7e', 'ada@example.com');
const WRITTEN: WriteResult = {
  status: 201,
  body: { path: 'a.txt', size: 5, charged: 0.01, balance: 4.99 },
  replayed: false,
};

/**
 * The upload route's use of the budget: taken before the body is read, held while the
 * metered write runs, given back whatever the outcome. The saga is a stand-in here
 * (MeteredWriteService has its own spec); the route reads a real IncomingMessage.
 */
describe(FilesController.name, () => {
  const options = {
    fileWritePrice: '0.01',
    maxFileBytes: MAX_FILE_BYTES,
    uploadBudgetBytes: 200,
    settleAfterSeconds: 60,
    settleIntervalMs: 10_000,
  };
  let budget: UploadBudget;
  let saga: jest.Mock<Promise<WriteResult>, [WriteRequest]>;
  let sut: FilesController;

  beforeEach(() => {
    budget = new UploadBudget(options);
    saga = jest.fn<Promise<WriteResult>, [WriteRequest]>();
    sut = new FilesController(
      {} as FilesService,
      { write: saga } as unknown as MeteredWriteService,
      budget,
      options,
    );
  });

  /** A PUT of `body` with a declared Content-Length, already received. */
  function put(body: Buffer, headers: Record<string, string> = {}) {
    const request = Object.assign(new IncomingMessage(new Socket()), {
      originalUrl: '/me/files/a.txt',
    });
    request.headers = { 'content-length': String(body.length), ...headers };
    request.rawHeaders = Object.entries(request.headers).flat() as string[];
    request.push(body);
    request.push(null);
    const headersSent = new Map<string, string>();
    const response = {
      header: (name: string, value: string) => headersSent.set(name.toLowerCase(), value),
      status: jest.fn(),
    };
    const result = sut.write(USER, request as Request, response as unknown as ReplyControls);
    return { result, headersSent };
  }

  async function refusal(result: Promise<unknown>) {
    const error = await result.then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    if (!(error instanceof HttpException)) throw error ?? new Error('expected a refusal');
    return { status: error.getStatus(), body: error.getResponse() };
  }

  it('holds the bytes while the write runs and gives them back after it', async () => {
    let heldDuringWrite = -1;
    saga.mockImplementation(async () => {
      heldDuringWrite = budget.held;
      return WRITTEN;
    });
    await expect(put(Buffer.from('hello')).result).resolves.toEqual(WRITTEN.body);
    expect(heldDuringWrite).toBe(5);
    expect(budget.held).toBe(0);
  });

  it('gives the bytes back when the write fails (an upstream down, a refusal)', async () => {
    saga.mockRejectedValueOnce(new UpstreamUnavailableError('filesystem', 'timeout'));
    await expect(put(Buffer.from('hello')).result).rejects.toBeInstanceOf(UpstreamUnavailableError);
    expect(budget.held).toBe(0);
    saga.mockRejectedValueOnce(new HttpException({ error: 'insufficient funds' }, 402));
    expect(await refusal(put(Buffer.from('hello')).result)).toMatchObject({ status: 402 });
    expect(budget.held).toBe(0);
  });

  it('answers 503 with Retry-After when the budget cannot hold the body, and never starts the write', async () => {
    const other = budget.open();
    expect(other.take(150)).toBe(true);
    const { result, headersSent } = put(Buffer.alloc(51));
    expect(await refusal(result)).toEqual({
      status: 503,
      body: { error: 'too many uploads in progress, retry later' },
    });
    expect(headersSent.get('retry-after')).toBe('1');
    expect(headersSent.get('connection')).toBe('close');
    expect(saga).not.toHaveBeenCalled();
    expect(budget.held).toBe(150);

    // Room for 50 more bytes, exactly.
    saga.mockResolvedValue(WRITTEN);
    await expect(put(Buffer.alloc(50)).result).resolves.toEqual(WRITTEN.body);
    other.release();
    expect(budget.held).toBe(0);
  });

  it('answers 413 without Retry-After and takes nothing for a body over the limit', async () => {
    const { result, headersSent } = put(Buffer.alloc(MAX_FILE_BYTES + 1));
    expect(await refusal(result)).toMatchObject({ status: 413 });
    expect(headersSent.get('retry-after')).toBeUndefined();
    expect(headersSent.get('connection')).toBe('close');
    expect(saga).not.toHaveBeenCalled();
    expect(budget.held).toBe(0);
  });

  it('takes nothing for a request refused before its body (a bad Idempotency-Key)', async () => {
    const { result } = put(Buffer.from('hello'), { 'idempotency-key': 'k'.repeat(201) });
    expect(await refusal(result)).toMatchObject({ status: 400 });
    expect(budget.held).toBe(0);
  });
});
