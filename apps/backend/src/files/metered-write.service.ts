import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import {
  HttpError,
  type InternalResponse,
  type UpstreamFailureReason,
  UpstreamUnavailableError,
} from '@zt/service-utils';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHash, randomUUID } from 'node:crypto';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { type BalanceChangeAnswer, BillingClient } from '../upstreams/billing.client';
import { FilesystemClient } from '../upstreams/filesystem.client';
import { UnexpectedUpstreamAnswerError } from '../upstreams/unexpected-upstream-answer.error';
import { relayUpstreamError } from '../upstreams/upstream-answers';
import { BILLING_UPSTREAM, FILESYSTEM_UPSTREAM } from '../upstreams/upstream.names';
import { FILES_OPTIONS, type FilesOptions } from './files.constants';

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
  /** 201 created or 200 replaced, as the filesystem server said. */
  readonly status: number;
  readonly body: { path: unknown; size: unknown; charged: number; balance: unknown };
  /** True when billing replayed an earlier deduct of the same saga (nothing charged now). */
  readonly replayed: boolean;
}

// Billing keeps keys of at most 255 characters.
const MAX_BILLING_KEY_LENGTH = 255;
// Failures after which a deduct may have happened (a refused connection or an open breaker
// means it did not): the charge is asked for again, under the same key, to learn its outcome.
const OPEN_OUTCOMES: ReadonlySet<UpstreamFailureReason> = new Set(['timeout', 'server_error']);
const CHARGE_ROUNDS = 3;
const CHARGE_ROUND_PAUSE_MS = 100;

/**
 * `PUT /me/files/*path`: a write that costs `FILE_WRITE_PRICE` credits, as a small saga:
 *
 * 1. `POST billing /deduct` under the key K (402 insufficient funds ends it: nothing written);
 * 2. `PUT filesystem /files/<path>` with `X-User-ID` = the token's `sub`;
 * 3. when the write did not happen (the filesystem refused it or was unreachable):
 *    `POST billing /top_up` under `refund:<sub>:<...>`, then the filesystem's answer (or 503).
 *
 * K is `charge:<sub>:<client Idempotency-Key>` when the client sent one, so a retried request
 * is charged once, and `charge:<sub>:<random uuid>` otherwise. A retry whose charge billing
 * replays is settled from the file alone, never written or refunded again (`settledEarlier`). The
 * deduct's `reason` carries a fingerprint of the path and the bytes (`file write <hex>`), so
 * billing refuses (422) a key reused for a different write instead of replaying its charge
 * for it: one key cannot pay for many writes.
 *
 * When the refund itself cannot be made (billing went down in between), the event
 * `refund_failed` is logged with the key and the answer is 503; retrying with the same
 * `Idempotency-Key` completes the saga (see docs/decisions.md).
 */
@Injectable()
export class MeteredWriteService {
  private readonly logger = new Logger(MeteredWriteService.name);
  private readonly charged: number;

  constructor(
    private readonly billing: BillingClient,
    private readonly filesystem: FilesystemClient,
    @Inject(FILES_OPTIONS) private readonly options: FilesOptions,
  ) {
    this.charged = Number(options.fileWritePrice);
  }

  async write(request: WriteRequest): Promise<WriteResult> {
    const { user, encodedPath, bytes } = request;
    const key = sagaKey(user.userId, request.clientKey);
    const fingerprint = writeFingerprint(encodedPath, bytes);

    const { deduct, ownCharge } = await this.charge(user, key, fingerprint);
    this.checkDeduct(deduct);
    if (!ownCharge) return this.settledEarlier(request, deduct);

    let written: InternalResponse<unknown>;
    try {
      written = await this.filesystem.write(user.userId, encodedPath, bytes);
    } catch (error) {
      if (error instanceof UpstreamUnavailableError) await this.refund(user, key, fingerprint);
      throw error;
    }
    if (written.status !== 200 && written.status !== 201) {
      await this.refund(user, key, fingerprint);
      throw relayUpstreamError(FILESYSTEM_UPSTREAM, 'PUT /files', written);
    }

    const stored = (written.data ?? {}) as { path?: unknown; size?: unknown };
    return {
      status: written.status,
      body: {
        path: stored.path,
        size: stored.size,
        charged: this.charged,
        balance: (deduct.data as { balance?: unknown }).balance,
      },
      // This request's own charge, even when billing replayed it to a retried attempt.
      replayed: false,
    };
  }

  /**
   * Deducts under `key` and tells whether the charge is this request's own. A replayed answer
   * is this request's own when an earlier attempt of this very request may have reached
   * billing: the client retried it (`attempts` > 1), or this method asked again after an
   * answer that left the outcome open (a timeout, a 5xx, or a 409 while that attempt was still
   * in flight). Asking again, under the same key, turns an open outcome into a definite one,
   * so a charge that did happen is never left without its write or its refund. When it stays
   * open, `charge_unknown` is logged with the key for an operator, and the error is answered.
   */
  private async charge(
    user: AuthenticatedUser,
    key: string,
    fingerprint: string,
  ): Promise<{ deduct: BalanceChangeAnswer; ownCharge: boolean }> {
    let outcomeWasOpen = false;
    for (let round = 1; ; round += 1) {
      let deduct: BalanceChangeAnswer;
      try {
        deduct = await this.billing.deduct(
          user.userId,
          this.options.fileWritePrice,
          `file write ${fingerprint}`,
          key,
        );
      } catch (error) {
        const open = error instanceof UpstreamUnavailableError && OPEN_OUTCOMES.has(error.reason);
        if (!open) throw error;
        outcomeWasOpen = true;
        if (round === CHARGE_ROUNDS) {
          this.logger.error({
            event: 'charge_unknown',
            idempotency_key: key,
            user_id: user.userId,
          });
          throw error;
        }
        await sleep(CHARGE_ROUND_PAUSE_MS * round);
        continue;
      }
      if (deduct.status === 409 && outcomeWasOpen && round < CHARGE_ROUNDS) {
        await sleep(CHARGE_ROUND_PAUSE_MS * round);
        continue;
      }
      const replayed = deduct.headers['idempotent-replayed'] === 'true';
      const mayBeOwn = outcomeWasOpen || (deduct.attempts ?? 1) > 1;
      return { deduct, ownCharge: !replayed || mayBeOwn };
    }
  }

  /**
   * A retry of a saga whose charge billing already took (the deduct was replayed). Neither
   * writes nor refunds: writing again could store for free what an earlier refund paid back,
   * and refunding again could pay back a write that did happen. The earlier write's outcome
   * is read from the file itself: the same bytes at the path -> that write's success again;
   * anything else -> 409, the key is spent (after a refund, or the file changed since).
   */
  private async settledEarlier(
    request: WriteRequest,
    deduct: InternalResponse<Record<string, unknown> | undefined>,
  ): Promise<WriteResult> {
    const { user, encodedPath, bytes } = request;
    const stored = await this.filesystem.read(user.userId, encodedPath);
    if (stored.status !== 200 || !stored.data.equals(bytes)) {
      this.logger.log({ event: 'write_key_spent', user_id: user.userId });
      throw new HttpError(
        HttpStatus.CONFLICT,
        'this Idempotency-Key was already settled by an earlier write; send a new write with a new key',
      );
    }
    return {
      status: HttpStatus.OK,
      body: {
        // The backend refused any path it could not decode before charging (readFilePath).
        path: encodedPath.split('/').map(decodeURIComponent).join('/'),
        size: bytes.length,
        charged: this.charged,
        balance: deduct.data?.['balance'],
      },
      replayed: true,
    };
  }

  private checkDeduct(deduct: InternalResponse<Record<string, unknown> | undefined>): void {
    switch (deduct.status) {
      case 200:
        return;
      case 402:
        throw new HttpError(HttpStatus.PAYMENT_REQUIRED, 'insufficient funds', {
          balance: deduct.data?.['balance'],
        });
      case 404:
        throw new HttpError(HttpStatus.NOT_FOUND, 'account not found');
      case 409:
        throw new HttpError(
          HttpStatus.CONFLICT,
          'a write with this Idempotency-Key is still in progress',
        );
      case 422:
        throw new HttpError(
          HttpStatus.UNPROCESSABLE_ENTITY,
          'this Idempotency-Key was used for a different write',
        );
      default:
        throw new UnexpectedUpstreamAnswerError(BILLING_UPSTREAM, 'POST /deduct', deduct.status);
    }
  }

  /** The compensating top-up of a write that did not happen. */
  private async refund(user: AuthenticatedUser, key: string, fingerprint: string): Promise<void> {
    // `refund:` where the charge has `charge:`: no client key can make one equal the other.
    const refundKey = key.replace(/^charge:/, 'refund:');
    const reason = `file write refund ${fingerprint}`;
    let answer: InternalResponse<unknown>;
    try {
      answer = await this.billing.topUp(
        user.userId,
        this.options.fileWritePrice,
        reason,
        refundKey,
      );
    } catch (error) {
      if (!(error instanceof UpstreamUnavailableError)) throw error;
      this.logger.error({
        event: 'refund_failed',
        idempotency_key: refundKey,
        user_id: user.userId,
        amount: this.options.fileWritePrice,
        // With the key, what an operator needs to make the refund by hand, exactly once.
        refund_reason: reason,
        failure: error.reason,
      });
      throw error;
    }
    if (answer.status !== 200) {
      this.logger.error({
        event: 'refund_failed',
        idempotency_key: refundKey,
        user_id: user.userId,
        amount: this.options.fileWritePrice,
        refund_reason: reason,
        failure: 'status',
        status: answer.status,
      });
      throw new UpstreamUnavailableError(BILLING_UPSTREAM, 'invalid_response');
    }
    this.logger.log({ event: 'write_refunded', idempotency_key: refundKey, user_id: user.userId });
  }
}

/** K: `charge:<sub>:<client key>` (or a random uuid), short enough for billing. */
function sagaKey(userId: string, clientKey: string | undefined): string {
  const key = `charge:${userId}:${clientKey ?? randomUUID()}`;
  if (key.length <= MAX_BILLING_KEY_LENGTH) return key;
  // Only for user ids much longer than the auth server's uuids, with very long client keys.
  const digest = createHash('sha256')
    .update(clientKey ?? '')
    .digest('base64url');
  return `charge:${userId}:sha256-${digest}`;
}

/** 128 bits of SHA-256 over the encoded path and the bytes' own SHA-256. */
function writeFingerprint(encodedPath: string, bytes: Buffer): string {
  const content = createHash('sha256').update(bytes).digest('hex');
  return createHash('sha256').update(`${encodedPath}\n${content}`).digest('hex').slice(0, 32);
}
