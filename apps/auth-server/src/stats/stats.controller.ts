import { Controller, Get } from '@nestjs/common';
import { authApi } from '@zt/contracts';
import { ApiEndpoint } from '@zt/service-chassis';
import { BillingClient } from '../billing/billing.client';
import { UsersRepository } from '../users/users.repository';
import { Scopes } from '@zt/service-utils';

/** `GET /stats`: users here, subscriptions in billing. Internal (global guard). */
@Controller('stats')
export class StatsController {
  constructor(
    private readonly users: UsersRepository,
    private readonly billing: BillingClient,
  ) {}

  @Scopes('auth:stats.read')
  @Get()
  @ApiEndpoint(authApi.authStats)
  async stats(): Promise<Record<string, unknown>> {
    const [users, subscriptions] = await Promise.all([
      this.users.countUsers(),
      this.billing.subscriptionCount(),
    ]);
    return {
      users,
      subscription_count: subscriptions.body.subscription_count,
      by_tier: subscriptions.body.by_tier,
    };
  }
}
