import {
  Controller,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import {
  ApiEndpoint,
  HttpError,
  JsonBody,
  type ReplyControls,
  ZodBodyPipe,
} from '@zt/service-chassis';
import {
  billingApi,
  MAX_BALANCE_MICROS,
  type ParsedBody,
  type ParsedQuery,
  toCredits,
} from '@zt/contracts';
import { BillingRepository } from './billing.repository';
import { BillingService } from './billing.service';
import { readIdempotencyKey } from './idempotency-key';
import { UserIdPipe } from './user-id.pipe';
import { accountNotFound, insufficientFunds } from './billing-refusals';
import { ActsForUser, type FrameworkRequest, Introspected, Scopes } from '@zt/service-utils';

const DEFAULT_LEDGER_PAGE = 50;

/** A deduct or top-up as validated. */
type BalanceChange = ParsedBody<typeof billingApi.deduct>;

/** Balance changes and the ledger that records them. Internal routes (global guard). */
@Controller()
export class TransactionsController {
  constructor(
    private readonly billing: BillingService,
    private readonly repository: BillingRepository,
  ) {}

  @Introspected()
  @Scopes('billing:charge')
  @ActsForUser({ body: 'user_id' })
  @Post('deduct')
  @HttpCode(HttpStatus.OK)
  @ApiEndpoint(billingApi.deduct)
  deduct(
    @JsonBody(billingApi.balanceChangeBody) body: BalanceChange,
    @Req() request: FrameworkRequest,
    @Res({ passthrough: true }) response: ReplyControls,
  ): Promise<Record<string, unknown>> {
    return this.change('deduct', body, request, response);
  }

  @Introspected()
  @Scopes('billing:refund')
  @ActsForUser({ body: 'user_id' })
  @Post('top_up')
  @HttpCode(HttpStatus.OK)
  @ApiEndpoint(billingApi.topUp)
  topUp(
    @JsonBody(billingApi.balanceChangeBody) body: BalanceChange,
    @Req() request: FrameworkRequest,
    @Res({ passthrough: true }) response: ReplyControls,
  ): Promise<Record<string, unknown>> {
    return this.change('top_up', body, request, response);
  }

  @Scopes('billing:ledger.read')
  @Get('ledger/:user_id')
  @ApiEndpoint(billingApi.ledger)
  async ledger(
    @Param('user_id', UserIdPipe) userId: string,
    @Query(new ZodBodyPipe(billingApi.ledger.query)) query: ParsedQuery<typeof billingApi.ledger>,
  ): Promise<Record<string, unknown>> {
    if (!(await this.repository.findAccount(userId))) {
      throw accountNotFound();
    }
    const limit = query.limit ?? DEFAULT_LEDGER_PAGE;
    // One row more than asked tells whether an older page exists.
    const rows = await this.repository.listLedger(userId, limit + 1, query.before);
    const page = rows.slice(0, limit);
    return {
      user_id: userId,
      entries: page.map((row) => ({
        transaction_id: row.transactionId,
        kind: row.kind,
        amount: toCredits(row.amount),
        balance_after: toCredits(row.balanceAfter),
        reason: row.reason,
        created_at: row.createdAt.toISOString(),
      })),
      next_before: rows.length > limit ? page[page.length - 1].seq.toString() : null,
    };
  }

  private async change(
    kind: 'deduct' | 'top_up',
    body: BalanceChange,
    request: FrameworkRequest,
    response: ReplyControls,
  ): Promise<Record<string, unknown>> {
    const { outcome, replayed } = await this.billing.changeBalance(
      { kind, userId: body.user_id, micros: body.amount, reason: body.reason },
      readIdempotencyKey(request),
    );
    if (replayed) response.header('Idempotent-Replayed', 'true');
    switch (outcome.kind) {
      case 'applied':
        return {
          user_id: outcome.userId,
          balance: toCredits(outcome.balance),
          transaction_id: outcome.transactionId,
        };
      case 'insufficient_funds':
        throw insufficientFunds(outcome.balance);
      case 'account_not_found':
        throw accountNotFound();
      case 'balance_limit_exceeded':
        throw new HttpError(
          HttpStatus.BAD_REQUEST,
          `top-up would take the balance above ${toCredits(MAX_BALANCE_MICROS)} credits`,
        );
      case 'in_progress':
        throw new HttpError(
          HttpStatus.CONFLICT,
          'a request with this Idempotency-Key is still in progress',
        );
      case 'idempotency_key_reused':
        throw new HttpError(
          HttpStatus.UNPROCESSABLE_ENTITY,
          'this Idempotency-Key was used for a different request',
        );
    }
  }
}
