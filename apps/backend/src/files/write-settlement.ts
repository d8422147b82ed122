import { Injectable, Logger } from '@nestjs/common';
import { type UpstreamFailureReason, UpstreamUnavailableError } from '@zt/service-chassis';
import { setTimeout as sleep } from 'node:timers/promises';
import { BillingClient } from '../upstreams/billing.client';
import { FilesystemClient } from '../upstreams/filesystem.client';
import { UnexpectedUpstreamAnswerError } from '../upstreams/unexpected-upstream-answer.error';
import { FILESYSTEM_UPSTREAM } from '../upstreams/upstream.names';

/** The definitive outcome of a metered write's filesystem step. */
export type WriteOutcome =
  | { readonly kind: 'applied'; readonly path: unknown; readonly size: unknown }
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
    const outcome = answer.status === 200 ? answer.data?.outcome : undefined;
    if (outcome === 'applied') {
      return { kind: 'applied', path: answer.data?.path, size: answer.data?.size };
    }
    if (outcome === 'aborted') return { kind: 'aborted' };
    throw new UnexpectedUpstreamAnswerError(
      FILESYSTEM_UPSTREAM,
      'POST /writes/resolve',
      answer.status,
    );
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
    try {
      status = (await inRounds(() => this.billing.settleHold(writeId, settlement))).status;
    } catch (error) {
      if (!(error instanceof UpstreamUnavailableError)) throw error;
      status = 503;
    }
    if (status === 200) {
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
