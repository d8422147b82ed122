import { Injectable } from '@nestjs/common';
import { InternalHttpClient } from '@zt/service-chassis';
import type { Tier } from '../users/tiers';

/** Subscription counts as billing reports them. */
export interface SubscriptionCount {
  readonly subscription_count: number;
  readonly by_tier: Record<Tier, number>;
}

/**
 * The auth server's calls to billing, over the internal client (credential, timeout,
 * breaker). An unreachable billing surfaces as `UpstreamUnavailableError`, which the
 * service's error filter answers with `503 {"error":"billing unavailable"}`.
 */
@Injectable()
export class BillingClient {
  constructor(private readonly client: InternalHttpClient) {}

  /** Opens the billing account of a new user. */
  async createAccount(userId: string, tier: Tier): Promise<void> {
    const response = await this.client.request('billing', {
      method: 'POST',
      path: '/account',
      body: { user_id: userId, tier },
    });
    if (response.status !== 201) {
      throw new Error(`billing answered ${response.status} to POST /account`);
    }
  }

  async subscriptionCount(): Promise<SubscriptionCount> {
    const response = await this.client.request<SubscriptionCount>('billing', {
      method: 'GET',
      path: '/stats/subscription_count',
    });
    if (response.status !== 200) {
      throw new Error(`billing answered ${response.status} to GET /stats/subscription_count`);
    }
    return response.data;
  }
}
