import { Injectable } from '@nestjs/common';
import { InternalHttpClient, type InternalResponse } from '@zt/service-chassis';
import { BILLING_UPSTREAM } from './upstream.names';

/** An account as `GET /balance/:user_id` reports it. */
export interface BillingAccount {
  readonly user_id: string;
  readonly tier: string;
  readonly balance: number;
}

/** A hold as billing answers it (DESIGN section 8; docs/metered-writes.md). */
export interface HoldAnswer {
  readonly hold_id: string;
  readonly user_id: string;
  readonly state: 'held' | 'captured' | 'released';
  readonly balance?: number;
}

/** Billing's answer to a deduct or top-up: `200 {"user_id","balance","transaction_id"}` or an error. */
export type BalanceChangeAnswer = InternalResponse<Record<string, unknown> | undefined>;

/**
 * The backend's calls to billing, over the internal client (credential, `X-Caller-Service:
 * backend`, timeout, retries, breaker). An unreachable billing surfaces as
 * `UpstreamUnavailableError`, which the error filter answers with
 * `503 {"error":"billing unavailable"}`. Answers below 500 are returned for the caller to read.
 */
@Injectable()
export class BillingClient {
  constructor(private readonly client: InternalHttpClient) {}

  /** `GET /balance/:user_id`. */
  balance(userId: string): Promise<InternalResponse<BillingAccount | Record<string, unknown>>> {
    return this.client.request(BILLING_UPSTREAM, {
      method: 'GET',
      path: `/balance/${encodeURIComponent(userId)}`,
    });
  }

  /**
   * `POST /deduct` under `idempotencyKey`: billing replays the first answer for a repeated
   * key and the same body, so a retried saga is charged once.
   */
  deduct(
    userId: string,
    amount: string,
    reason: string,
    idempotencyKey: string,
  ): Promise<BalanceChangeAnswer> {
    return this.change('/deduct', userId, amount, reason, idempotencyKey);
  }

  /** `POST /top_up` under `idempotencyKey` (a refund is credited once, however often retried). */
  topUp(
    userId: string,
    amount: string,
    reason: string,
    idempotencyKey: string,
  ): Promise<BalanceChangeAnswer> {
    return this.change('/top_up', userId, amount, reason, idempotencyKey);
  }

  /**
   * `POST /holds`: takes `amount` from the balance now, as hold `holdId` (201), or answers the
   * hold placed earlier under that id as it is now (200); 402, 404, 422 otherwise.
   */
  placeHold(
    holdId: string,
    userId: string,
    amount: string,
    reason: string,
  ): Promise<InternalResponse<HoldAnswer | Record<string, unknown>>> {
    return this.client.request(BILLING_UPSTREAM, {
      method: 'POST',
      path: '/holds',
      body: { hold_id: holdId, user_id: userId, amount, reason },
    });
  }

  /** `POST /holds/:id/capture` or `/release`: keeps the money, or pays it back (each once). */
  settleHold(
    holdId: string,
    settlement: 'capture' | 'release',
  ): Promise<InternalResponse<HoldAnswer | Record<string, unknown>>> {
    return this.client.request(BILLING_UPSTREAM, {
      method: 'POST',
      path: `/holds/${encodeURIComponent(holdId)}/${settlement}`,
    });
  }

  /** `GET /holds?state=held&older_than_seconds=`: a page of this service's open holds. */
  openHolds(
    olderThanSeconds: number,
    after: string | undefined,
  ): Promise<InternalResponse<{ holds?: HoldAnswer[]; next_after?: string | null }>> {
    const query = new URLSearchParams({
      state: 'held',
      older_than_seconds: String(olderThanSeconds),
      limit: '100',
    });
    if (after !== undefined) query.set('after', after);
    return this.client.request(BILLING_UPSTREAM, { method: 'GET', path: `/holds?${query}` });
  }

  private change(
    path: string,
    userId: string,
    amount: string,
    reason: string,
    idempotencyKey: string,
  ): Promise<BalanceChangeAnswer> {
    return this.client.request(BILLING_UPSTREAM, {
      method: 'POST',
      path,
      body: { user_id: userId, amount, reason },
      headers: { 'Idempotency-Key': idempotencyKey },
    });
  }
}
