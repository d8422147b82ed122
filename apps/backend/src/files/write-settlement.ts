import { Injectable, Logger } from '@nestjs/common';
import {
  UnexpectedUpstreamAnswerError,
  type UpstreamFailureReason,
  UpstreamUnavailableError,
} from '@zt/service-chassis';
import { setTimeout as sleep } from 'node:timers/promises';
import { BillingClient } from '../upstreams/billing.client';
import { FilesystemClient } from '../upstreams/filesystem.client';
import { FILESYSTEM_UPSTREAM } from '../upstreams/upstream.names';

/** The definitive outcome of a metered write's filesystem step. */
export type WriteOutcome =
  | { readonly kind: 'applied'; readonly path: string; readonly size: number }
  | { readonly kind: 'aborted' };

// Failures that say nothing about what the upstream did: the idempotent call is made again.
const UNANSWERED: ReadonlySet<UpstreamFailureReason> = new Set([
  'timeout',
  'network',
  'server_error',
]);
const ROUNDS = 3;
const ROUND_PAUSE_MS = 100;

/**
 * The two steps that end a metered write, shared by the request that makes it and by the
 * resolver that finishes what a request left open (`PendingWritesResolver`):
 *
 * - `resolve` learns the filesystem's definitive outcome of write W, which also fences it: a
 *   write not stored by the time the filesystem answers can never be stored later;
 * - `settle` captures hold W when the write was applied, and releases it (pays it back) when
 *   it was aborted. A hold is never released without the filesystem's `aborted`.
 *
 * Both are idempotent, so any number of requests and resolvers may run them for the same W.
 */
@Injectable()
export class WriteSettlement {
  private readonly logger = new Logger(WriteSettlement.name);

  constructor(
    private readonly billing: BillingClient,
    private readonly filesystem: FilesystemClient,
  ) {}

  /**
   * The outcome of write `writeId` of `userId`, asked up to three times while unanswered.
   * @throws UpstreamUnavailableError when the filesystem cannot tell now.
   */
  async resolve(userId: string, writeId: string): Promise<WriteOutcome> {
    const answer = await inRounds(() => this.filesystem.resolveWrite(userId, writeId));
    switch (answer.kind) {
      case 'ok':
        return answer.body.outcome === 'applied'
          ? { kind: 'applied', path: answer.body.path, size: answer.body.size }
          : { kind: 'aborted' };
      case 'invalid_request':
      case 'too_many_requests':
        throw new UnexpectedUpstreamAnswerError(
          FILESYSTEM_UPSTREAM,
          'POST /writes/resolve',
          answer.status,
        );
    }
  }

  /**
   * Captures or releases hold `writeId` after `outcome`.
   * @returns false, having logged why, when billing could not do it now: the hold stays held
   *   and the resolver settles it later (the money is already right for a capture, and is
   *   paid back then for a release).
   */
  async settle(writeId: string, userId: string, outcome: WriteOutcome['kind']): Promise<boolean> {
    const settlement = outcome === 'applied' ? 'capture' : 'release';
    let status: number;
    let settled: boolean;
    try {
      const answer =
        settlement === 'capture'
          ? await inRounds(() => this.billing.captureHold(writeId))
          : await inRounds(() => this.billing.releaseHold(writeId));
      status = answer.status;
      settled = answer.kind === 'captured' || answer.kind === 'released';
    } catch (error) {
      // Left held either way: the resolver tries again later.
      if (error instanceof UnexpectedUpstreamAnswerError) status = error.status;
      else if (error instanceof UpstreamUnavailableError) status = 503;
      else throw error;
      settled = false;
    }
    if (settled) {
      this.logger.log({ event: 'write_settled', write_id: writeId, user_id: userId, settlement });
      return true;
    }
    this.logger.warn({
      event: 'write_settlement_deferred',
      write_id: writeId,
      user_id: userId,
      settlement,
      status,
    });
    return false;
  }
}

/** Runs an idempotent call again, briefly, while it goes unanswered. */
export async function inRounds<T>(call: () => Promise<T>): Promise<T> {
  for (let round = 1; ; round += 1) {
    try {
      return await call();
    } catch (error) {
      const unanswered = error instanceof UpstreamUnavailableError && UNANSWERED.has(error.reason);
      if (!unanswered || round === ROUNDS) throw error;
    }
    await sleep(ROUND_PAUSE_MS * round);
  }
}
