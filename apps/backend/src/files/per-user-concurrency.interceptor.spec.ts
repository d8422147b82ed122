import { HttpException } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { lastValueFrom, Subject } from 'rxjs';
import { setAuthenticatedUser } from '../auth/authenticated-user';
import {
  MAX_FILE_REQUESTS_PER_USER,
  PerUserConcurrencyInterceptor,
} from './per-user-concurrency.interceptor';
import { signedInUser } from '../testing/authenticated-user';

describe(PerUserConcurrencyInterceptor.name, () => {
  let sut: PerUserConcurrencyInterceptor;

  beforeEach(() => {
    sut = new PerUserConcurrencyInterceptor();
  });

  /** Starts one request of `userId` whose handler runs until `done` is completed. */
  function start(userId: string) {
    const request = new IncomingMessage(new Socket());
    setAuthenticatedUser(request, signedInUser(userId, `${userId}@example.com`));
    const response = new ServerResponse(request);
    const done = new Subject<string>();
    const result = lastValueFrom(
      sut.intercept(new ExecutionContextHost([request, response]), { handle: () => done }),
    );
    return {
      response,
      finish: async () => {
        done.next('ok');
        done.complete();
        return result;
      },
    };
  }

  it(`refuses the request past ${MAX_FILE_REQUESTS_PER_USER} in progress with 429, for that user only`, async () => {
    const running = Array.from({ length: MAX_FILE_REQUESTS_PER_USER }, () => start('alice'));
    let refusal: unknown;
    try {
      start('alice');
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(HttpException);
    expect((refusal as HttpException).getStatus()).toBe(429);
    expect((refusal as HttpException).getResponse()).toEqual({
      error: 'too many file requests in progress',
    });

    const bob = start('bob');
    await expect(bob.finish()).resolves.toBe('ok');

    await running[0].finish();
    const again = start('alice');
    await expect(again.finish()).resolves.toBe('ok');
    await Promise.all(running.slice(1).map((request) => request.finish()));
  });

  it('frees the slot when the handler fails', async () => {
    for (let i = 0; i < MAX_FILE_REQUESTS_PER_USER + 2; i += 1) {
      const request = new IncomingMessage(new Socket());
      setAuthenticatedUser(request, signedInUser('carol', 'carol@example.com'));
      const failing = new Subject<string>();
      const result = lastValueFrom(
        sut.intercept(new ExecutionContextHost([request, new ServerResponse(request)]), {
          handle: () => failing,
        }),
      );
      failing.error(new Error('write failed'));
      await expect(result).rejects.toThrow('write failed');
    }
  });
});
