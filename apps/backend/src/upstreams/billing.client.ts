import { Injectable } from '@nestjs/common';
import { billingApi } from '@zt/contracts';
import { type CallOutcome, InternalHttpClient } from '@zt/service-chassis';
import { BILLING_UPSTREAM } from './upstream.names';

/**
 * The backend's calls to billing, over the internal client (credential, `X-Caller-Service:
 * backend`, timeout, retries, breaker), each answer read into its outcome by billing's
 * contract (`@zt/contracts`). An unreachable billing surfaces as `UpstreamUnavailableError`
 * (503 `billing unavailable`); an answer the contract does not declare, as
 * `UnexpectedUpstreamAnswerError` (500).
 */
@Injectable()
export class BillingClient {
  constructor(private readonly client: InternalHttpClient) {}

  /** `GET /balance/:user_id`. */
  balance(userId: string): Promise<CallOutcome<typeof billingApi.getBalance>> {
    return this.client.call(BILLING_UPSTREAM, billingApi.getBalance, {
      params: { user_id: userId },
    });
  }

  /**
   * `POST /holds`: takes `amount` from the balance now, as hold `holdId` (`placed`), or
   * answers the hold placed earlier under that id as it is now (`placed_before`).
   */
  placeHold(
    holdId: string,
    userId: string,
    amount: string,
    reason: string,
  ): Promise<CallOutcome<typeof billingApi.placeHold>> {
    return this.client.call(BILLING_UPSTREAM, billingApi.placeHold, {
      body: { hold_id: holdId, user_id: userId, amount, reason },
    });
  }

  /** `POST /holds/:id/capture`: keeps the money (once). */
  captureHold(holdId: string): Promise<CallOutcome<typeof billingApi.captureHold>> {
    return this.client.call(BILLING_UPSTREAM, billingApi.captureHold, {
      params: { hold_id: holdId },
    });
  }

  /** `POST /holds/:id/release`: pays the money back (once). */
  releaseHold(holdId: string): Promise<CallOutcome<typeof billingApi.releaseHold>> {
    return this.client.call(BILLING_UPSTREAM, billingApi.releaseHold, {
      params: { hold_id: holdId },
    });
  }

  /** `GET /holds?state=held&older_than_seconds=`: a page of this service's open holds. */
  openHolds(
    olderThanSeconds: number,
    after: string | undefined,
  ): Promise<CallOutcome<typeof billingApi.listHolds>> {
    return this.client.call(BILLING_UPSTREAM, billingApi.listHolds, {
      query: {
        state: 'held',
        older_than_seconds: String(olderThanSeconds),
        limit: '100',
        after,
      },
    });
  }
}
