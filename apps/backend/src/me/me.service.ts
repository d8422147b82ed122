import { HttpStatus, Injectable } from '@nestjs/common';
import { HttpError } from '@zt/service-chassis';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { type BillingAccount, BillingClient } from '../upstreams/billing.client';
import { UnexpectedUpstreamAnswerError } from '../upstreams/unexpected-upstream-answer.error';
import { BILLING_UPSTREAM } from '../upstreams/upstream.names';

/** What `GET /me` answers. */
export interface Profile {
  readonly user_id: string;
  readonly email: string;
  readonly tier: string;
  readonly balance: number;
}

/** The signed-in user's profile: who the token says, and what billing says about them. */
@Injectable()
export class MeService {
  constructor(private readonly billing: BillingClient) {}

  async profile(user: AuthenticatedUser): Promise<Profile> {
    const answer = await this.billing.balance(user.userId);
    if (answer.status === 404) throw new HttpError(HttpStatus.NOT_FOUND, 'account not found');
    if (answer.status !== 200) {
      throw new UnexpectedUpstreamAnswerError(BILLING_UPSTREAM, 'GET /balance', answer.status);
    }
    const account = answer.data as BillingAccount;
    return {
      user_id: user.userId,
      email: user.email,
      tier: account.tier,
      balance: account.balance,
    };
  }
}
