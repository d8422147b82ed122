import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import type { billingApi, filesystemApi } from '@zt/contracts';
import {
  type CallOutcome,
  HttpError,
  UnexpectedUpstreamAnswerError,
  UpstreamUnavailableError,
} from '@zt/service-chassis';
import { createHash, randomUUID } from 'node:crypto';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { BillingClient } from '../upstreams/billing.client';
import { FilesystemClient } from '../upstreams/filesystem.client';
import { relayRefusal } from '../upstreams/upstream-answers';
import { BILLING_UPSTREAM, FILESYSTEM_UPSTREAM } from '../upstreams/upstream.names';
import { FILES_OPTIONS, type FilesOptions } from './files.constants';
import { inRounds, type WriteOutcome, WriteSettlement } from './write-settlement';

/** One metered write, as the controller hands it over. */
export interface WriteRequest {
  readonly user: AuthenticatedUser;
  /** The file path as the client percent-encoded it (see `readFilePath`). */
  readonly encodedPath: string;
  readonly bytes: Buffer;
  /** The client's `Idempotency-Key`, when it sent one. */
  readonly clientKey: string | undefined;
}

/** The outcome of a write that happened. */
export interface WriteResult {
  /** 201 created or 200 replaced, as the filesystem server first said. */
  readonly status: number;
  readonly body: { path: unknown; size: unknown; charged: number; balance: unknown };
  /** True when this answers a write stored by an earlier attempt (nothing stored or charged now). */
  readonly replayed: boolean;
}

const SPENT =
  'this Idempotency-Key was already settled by an earlier write; send a new write with a new key';
const CANCELLED =
  'this write was cancelled before it was stored and nothing was charged; send it again with a new Idempotency-Key';

/**
 * `PUT /me/files/*path`: a write that costs `FILE_WRITE_PRICE` credits, exactly once for a
 * stored file and never for a write that did not happen (DESIGN section 8,
 * docs/metered-writes.md). Each write has an id W, the same at billing and the filesystem:
 *
 * 1. `POST billing /holds` W: the price leaves the balance (402: nothing written);
 * 2. `PUT filesystem /files/<path>` as W: stored at most once, replayed to a retry;
 * 3. capture W when stored; otherwise ask the filesystem to resolve W (which fences it: a
 *    write not stored by then never will be) and capture or release by its answer.
 *
 * What a request cannot finish (a crash, billing or the filesystem unreachable) stays a held
 * hold, which `PendingWritesResolver` settles the same way. W is derived from the client's
 * `Idempotency-Key` when it sent one, so a retry finds the same hold and the same write:
 * it completes a paid write, or is answered like the first attempt, and is never charged
 * again. The hold's reason carries a fingerprint of the path and the bytes, so billing
 * refuses (422) a key reused for a different write.
 */
@Injectable()
export class MeteredWriteService {
  private readonly logger = new Logger(MeteredWriteService.name);
  private readonly charged: number;

  constructor(
    private readonly billing: BillingClient,
    private readonly filesystem: FilesystemClient,
    private readonly settlement: WriteSettlement,
    @Inject(FILES_OPTIONS) private readonly options: FilesOptions,
  ) {
    this.charged = Number(options.fileWritePrice);
  }

  async write(request: WriteRequest): Promise<WriteResult> {
    const { user, encodedPath, bytes } = request;
    // A filesystem known to be down would leave the price held until it returns.
    if (this.filesystem.knownDown()) {
      throw new UpstreamUnavailableError(FILESYSTEM_UPSTREAM, 'breaker_open');
    }
    const writeId = writeIdOf(user.userId, request.clientKey);
    const hold = await this.placeHold(user, writeId, writeFingerprint(encodedPath, bytes));
    if (hold.state === 'released') {
      this.logger.log({ event: 'write_key_spent', write_id: writeId, user_id: user.userId });
      throw new HttpError(HttpStatus.CONFLICT, SPENT);
    }
    if (hold.state === 'captured') {
      // Finished: answered from the request itself (the hold's reason proves the same path
      // and bytes), never written again, even once the filesystem has forgotten W.
      return {
        status: HttpStatus.OK,
        body: {
          // The backend refused any path it could not decode before the hold (readFilePath).
          path: encodedPath.split('/').map(decodeURIComponent).join('/'),
          size: bytes.length,
          charged: this.charged,
          balance: hold.balance,
        },
        replayed: true,
      };
    }

    let failure: Error;
    try {
      const written = await this.filesystem.write(user, encodedPath, bytes, writeId);
      switch (written.kind) {
        case 'created':
        case 'replaced':
          await this.settlement.settle(writeId, user.userId, 'applied');
          return this.success(written, hold);
        case 'write_aborted':
          failure = new HttpError(HttpStatus.CONFLICT, CANCELLED);
          break;
        case 'conflict':
        case 'too_large':
        case 'not_found':
        case 'insufficient_storage':
        case 'invalid_request':
        case 'too_many_requests':
          failure = relayRefusal(written);
          break;
      }
    } catch (error) {
      // Unanswered, or an answer the contract does not know: what happened is resolved below.
      const unknownOutcome =
        error instanceof UpstreamUnavailableError || error instanceof UnexpectedUpstreamAnswerError;
      if (!unknownOutcome) throw error;
      failure = error;
    }
    // Not stored by this attempt, or not known to be: resolved, never guessed.
    let outcome: WriteOutcome;
    try {
      outcome = await this.settlement.resolve(user.userId, writeId);
    } catch (error) {
      this.logger.warn({ event: 'write_outcome_open', write_id: writeId, user_id: user.userId });
      throw error instanceof UpstreamUnavailableError ? error : failure;
    }
    await this.settlement.settle(writeId, user.userId, outcome.kind);
    if (outcome.kind === 'aborted') throw failure;
    // Another attempt of the same write (a concurrent retry) stored it.
    return {
      status: HttpStatus.OK,
      body: {
        path: outcome.path,
        size: outcome.size,
        charged: this.charged,
        balance: hold.balance,
      },
      replayed: true,
    };
  }

  /** Places hold W, asking again while unanswered; the hold as it is now. */
  private async placeHold(
    user: AuthenticatedUser,
    writeId: string,
    fingerprint: string,
  ): Promise<billingApi.HoldAnswer> {
    let answer: CallOutcome<typeof billingApi.placeHold>;
    try {
      answer = await inRounds(() =>
        this.billing.placeHold(
          writeId,
          user,
          this.options.fileWritePrice,
          `file write ${fingerprint}`,
        ),
      );
    } catch (error) {
      // It may have been placed: the resolver pays it back if so (no write can follow).
      this.logger.warn({ event: 'hold_outcome_open', write_id: writeId, user_id: user.userId });
      throw error;
    }
    switch (answer.kind) {
      case 'placed':
      case 'placed_before':
        return answer.body;
      case 'insufficient_funds':
        throw new HttpError(HttpStatus.PAYMENT_REQUIRED, 'insufficient funds', {
          balance: answer.body.balance,
        });
      case 'account_not_found':
        throw new HttpError(HttpStatus.NOT_FOUND, 'account not found');
      case 'hold_id_reused':
        throw new HttpError(
          HttpStatus.UNPROCESSABLE_ENTITY,
          'this Idempotency-Key was used for a different write',
        );
      case 'invalid_request': // a body built here: a bug
        throw new UnexpectedUpstreamAnswerError(BILLING_UPSTREAM, 'POST /holds', answer.status);
    }
  }

  private success(
    written: CallOutcome<typeof filesystemApi.writeFile> & { kind: 'created' | 'replaced' },
    hold: billingApi.HoldAnswer,
  ): WriteResult {
    return {
      status: written.status,
      body: {
        path: written.body.path,
        size: written.body.size,
        charged: this.charged,
        balance: hold.balance,
      },
      replayed: written.headers['write-replayed'] === 'true',
    };
  }
}

/**
 * W: `k` and a digest of the user and the client's key (so two users' keys never meet), or
 * `r` and a random uuid for a write sent without one. At most 64 characters of [A-Za-z0-9_-].
 */
function writeIdOf(userId: string, clientKey: string | undefined): string {
  if (clientKey === undefined) return `r${randomUUID().replaceAll('-', '')}`;
  return `k${createHash('sha256').update(`${userId}\n${clientKey}`).digest('base64url')}`;
}

/** 128 bits of SHA-256 over the encoded path and the bytes' own SHA-256. */
function writeFingerprint(encodedPath: string, bytes: Buffer): string {
  const content = createHash('sha256').update(bytes).digest('hex');
  return createHash('sha256').update(`${encodedPath}\n${content}`).digest('hex').slice(0, 32);
}
