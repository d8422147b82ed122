import { Controller, Get, HttpStatus, Param, Post, Res } from '@nestjs/common';
import { ApiEndpoint, HttpError, JsonBody, type ReplyControls } from '@zt/service-chassis';
import { billingApi, type ParsedBody, toCredits } from '@zt/contracts';
import { BillingRepository } from './billing.repository';
import { BillingService } from './billing.service';
import { UserIdPipe } from './user-id.pipe';
import { accountNotFound } from './billing-refusals';
import { ActsForUser, Introspected, Scopes } from '@zt/service-utils';

/** Accounts: open one, read a balance, count subscriptions. Internal routes (global guard). */
@Controller()
export class AccountsController {
  constructor(
    private readonly billing: BillingService,
    private readonly repository: BillingRepository,
  ) {}

  // Opening an account credits its opening balance: it moves money too.
  @Introspected()
  @Scopes('billing:accounts.write')
  @Post('account')
  @ApiEndpoint(billingApi.createAccount)
  async create(
    @JsonBody(billingApi.createAccount.body)
    body: ParsedBody<typeof billingApi.createAccount>,
    @Res({ passthrough: true }) response: ReplyControls,
  ): Promise<Record<string, unknown>> {
    const outcome = await this.billing.createAccount(body.user_id, body.tier);
    switch (outcome.kind) {
      case 'created':
        response.status(HttpStatus.CREATED);
        return { status: 'created', user_id: outcome.userId, balance: toCredits(outcome.balance) };
      case 'account_exists':
        throw new HttpError(HttpStatus.CONFLICT, 'account exists');
    }
  }

  @Scopes('billing:balance.read')
  @ActsForUser({ param: 'user_id' })
  @Get('balance/:user_id')
  @ApiEndpoint(billingApi.getBalance)
  async balance(@Param('user_id', UserIdPipe) userId: string): Promise<Record<string, unknown>> {
    const account = await this.repository.findAccount(userId);
    if (!account) throw accountNotFound();
    return { user_id: account.userId, tier: account.tier, balance: toCredits(account.balance) };
  }

  @Scopes('billing:stats.read')
  @Get('stats/subscription_count')
  @ApiEndpoint(billingApi.subscriptionCount)
  async subscriptionCount(): Promise<Record<string, unknown>> {
    const byTier = await this.repository.countByTier();
    const total = Object.values(byTier).reduce((sum, count) => sum + count, 0);
    return { subscription_count: total, by_tier: byTier };
  }
}
