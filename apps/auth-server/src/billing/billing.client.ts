import { Injectable } from '@nestjs/common';
import { billingApi, type Outcome, type Tier } from '@zt/contracts';
import { InternalHttpClient } from '@zt/service-chassis';

/** The name under which the internal client knows billing. */
export const BILLING_UPSTREAM = 'billing';

/**
 * The auth server's calls to billing, over the internal client (credential, timeout,
 * breaker), each answer read into its outcome by billing's contract. An unreachable billing
 * surfaces as `UpstreamUnavailableError`, which the service's error filter answers with
 * `503 {"error":"billing unavailable"}`, as it does billing's rate limit on the auth server (an
 * undeclared 429: `rate_limited`, with `Retry-After`); any other answer the contract does not
 * declare, as `UnexpectedUpstreamAnswerError` (500).
 */
@Injectable()
export class BillingClient {
  constructor(private readonly client: InternalHttpClient) {}

  /** `POST /account`: opens the billing account of a new user. */
  createAccount(userId: string, tier: Tier): Promise<Outcome<typeof billingApi.createAccount>> {
    return this.client.call(BILLING_UPSTREAM, billingApi.createAccount, {
      body: { user_id: userId, tier },
    });
  }

  /** `GET /stats/subscription_count`. */
  subscriptionCount(): Promise<Outcome<typeof billingApi.subscriptionCount>> {
    return this.client.call(BILLING_UPSTREAM, billingApi.subscriptionCount);
  }
}
