import { Body, Controller, Get, HttpStatus, Param, Post, Res } from '@nestjs/common';
import { HttpError, ZodBodyPipe } from '@zt/service-utils';
import type { Response } from 'express';
import { toCredits } from '../money/credits';
import { BillingRepository } from './billing.repository';
import { BillingService } from './billing.service';
import { createAccountSchema, type CreateAccountRequest } from './dto/billing.schemas';
import { UserIdPipe } from './user-id.pipe';

/** Accounts: open one, read a balance, count subscriptions. Internal routes (global guard). */
@Controller()
export class AccountsController {
  constructor(
    private readonly billing: BillingService,
    private readonly repository: BillingRepository,
  ) {}

  @Post('account')
  async create(
    @Body(new ZodBodyPipe(createAccountSchema)) body: CreateAccountRequest,
    @Res({ passthrough: true }) response: Response,
  ): Promise<Record<string, unknown>> {
    const result = await this.billing.createAccount(body.user_id, body.tier);
    response.status(result.status);
    return result.body;
  }

  @Get('balance/:user_id')
  async balance(@Param('user_id', UserIdPipe) userId: string): Promise<Record<string, unknown>> {
    const account = await this.repository.findAccount(userId);
    if (!account) throw new HttpError(HttpStatus.NOT_FOUND, 'account not found');
    return { user_id: account.userId, tier: account.tier, balance: toCredits(account.balance) };
  }

  @Get('stats/subscription_count')
  async subscriptionCount(): Promise<Record<string, unknown>> {
    const byTier = await this.repository.countByTier();
    const total = Object.values(byTier).reduce((sum, count) => sum + count, 0);
    return { subscription_count: total, by_tier: byTier };
  }
}
