import { HttpStatus, Injectable } from '@nestjs/common';
import { HttpError, UnexpectedUpstreamAnswerError } from '@zt/service-chassis';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { BillingClient } from '../upstreams/billing.client';
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
    const answer = await this.billing.balance(user);
    switch (answer.kind) {
      case 'ok':
        return {
          user_id: user.userId,
          email: user.email,
          tier: answer.body.tier,
          balance: answer.body.balance,
        };
      case 'account_not_found':
        throw new HttpError(HttpStatus.NOT_FOUND, 'account not found');
      case 'invalid_request': // the id comes from a verified token: billing disagrees with us
        throw new UnexpectedUpstreamAnswerError(BILLING_UPSTREAM, 'GET /balance', answer.status);
    }
  }
}
