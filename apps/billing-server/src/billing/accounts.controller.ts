import { Body, Controller, Get, HttpStatus, Param, Post, Res } from '@nestjs/common';
import { HttpError, ZodBodyPipe } from '@zt/service-chassis';
import { ApiBody, ApiResponse } from '@nestjs/swagger';
import type { Response } from 'express';
import { billingApi, type ParsedBody, toCredits } from '@zt/contracts';
import { BillingRepository } from './billing.repository';
import { BillingService } from './billing.service';
import { CREATE_ACCOUNT_BODY } from './dto/billing.openapi';
import { UserIdPipe } from './user-id.pipe';

/** Accounts: open one, read a balance, count subscriptions. Internal routes (global guard). */
@Controller()
export class AccountsController {
  constructor(
    private readonly billing: BillingService,
    private readonly repository: BillingRepository,
  ) {}

  @Post('account')
  @ApiBody({ schema: CREATE_ACCOUNT_BODY })
  @ApiResponse({ status: 201, description: '{"status":"created","user_id","balance"}' })
  @ApiResponse({ status: 400, description: 'Invalid body or unknown tier' })
  @ApiResponse({ status: 409, description: '{"error":"account exists"}' })
  async create(
    @Body(new ZodBodyPipe(billingApi.createAccount.body))
    body: ParsedBody<typeof billingApi.createAccount>,
    @Res({ passthrough: true }) response: Response,
  ): Promise<Record<string, unknown>> {
    const result = await this.billing.createAccount(body.user_id, body.tier);
    response.status(result.status);
    return result.body;
  }

  @Get('balance/:user_id')
  @ApiResponse({ status: 200, description: '{"user_id","tier","balance"}' })
  @ApiResponse({ status: 404, description: '{"error":"account not found"}' })
  async balance(@Param('user_id', UserIdPipe) userId: string): Promise<Record<string, unknown>> {
    const account = await this.repository.findAccount(userId);
    if (!account) throw new HttpError(HttpStatus.NOT_FOUND, 'account not found');
    return { user_id: account.userId, tier: account.tier, balance: toCredits(account.balance) };
  }

  @Get('stats/subscription_count')
  @ApiResponse({
    status: 200,
    description: '{"subscription_count","by_tier":{"free","pro","team"}}',
  })
  async subscriptionCount(): Promise<Record<string, unknown>> {
    const byTier = await this.repository.countByTier();
    const total = Object.values(byTier).reduce((sum, count) => sum + count, 0);
    return { subscription_count: total, by_tier: byTier };
  }
}
