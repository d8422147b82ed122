import { Injectable } from '@nestjs/common';
import { billingApi } from '@zt/contracts';
import { type CallOutcome, InternalHttpClient } from '@zt/service-chassis';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { BILLING_UPSTREAM } from './upstream.names';
import { UserAssertions } from './user-assertions';

/**
 * The backend's calls to billing, over the internal client (credential, `X-Caller-Service:
 * backend`, timeout, retries, breaker), each answer read into its outcome by billing's
 * contract (`@zt/contracts`). An unreachable billing surfaces as `UpstreamUnavailableError`
 * (503 `billing unavailable`), and so does billing's rate limit on the backend (an undeclared
 * 429: `rate_limited`, with `Retry-After`); any other answer the contract does not declare, as
 * `UnexpectedUpstreamAnswerError` (500).
 */
@Injectable()
export class BillingClient {
  constructor(
    private readonly client: InternalHttpClient,
    private readonly proofs: UserAssertions,
  ) {}

  /** `GET /balance/:user_id`, with the user's proof. */
  async balance(user: AuthenticatedUser): Promise<CallOutcome<typeof billingApi.getBalance>> {
    return this.client.call(BILLING_UPSTREAM, billingApi.getBalance, {
      params: { user_id: user.userId },
      headers: { ...(await this.proofs.headersFor(user, 'billing-server')) },
    });
  }

  /**
   * `POST /holds`: takes `amount` from the balance now, as hold `holdId` (`placed`), or
   * answers the hold placed earlier under that id as it is now (`placed_before`).
   */
  async placeHold(
    holdId: string,
    user: AuthenticatedUser,
    amount: string,
    reason: string,
  ): Promise<CallOutcome<typeof billingApi.placeHold>> {
    return this.client.call(BILLING_UPSTREAM, billingApi.placeHold, {
      body: { hold_id: holdId, user_id: user.userId, amount, reason },
      headers: { ...(await this.proofs.headersFor(user, 'billing-server')) },
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
