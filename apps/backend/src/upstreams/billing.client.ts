import { Injectable } from '@nestjs/common';
import { InternalHttpClient, type InternalResponse } from '@zt/service-utils';
import { BILLING_UPSTREAM } from './upstream.names';

/** An account as `GET /balance/:user_id` reports it. */
export interface BillingAccount {
  readonly user_id: string;
  readonly tier: string;
  readonly balance: number;
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
