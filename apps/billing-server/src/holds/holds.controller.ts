import {
  Controller,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  type PipeTransform,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { billingApi, type ParsedBody, type ParsedQuery, toCredits } from '@zt/contracts';
import {
  ApiEndpoint,
  HttpError,
  JsonBody,
  type ReplyControls,
  ZodBodyPipe,
} from '@zt/service-chassis';
import { readCallerService } from '../billing/idempotency-key';
import type { HoldRow } from './holds.repository';
import { HoldsService } from './holds.service';
import { accountNotFound, insufficientFunds } from '../billing/billing-refusals';
import { ActsForUser, type FrameworkRequest, Introspected, Scopes } from '@zt/service-utils';

const DEFAULT_PAGE = 100;

/** Validates a `:hold_id` path parameter: 400 `{"error":"invalid hold_id"}` otherwise. */
class HoldIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!billingApi.HOLD_ID_PATTERN.test(value))
      throw new HttpError(HttpStatus.BAD_REQUEST, 'invalid hold_id');
    return value;
  }
}

/**
 * Holds: charges settled later, in the namespace of the calling service (`X-Caller-Service`).
 * Internal routes (global guard). See DESIGN section 8 and docs/metered-writes.md.
 */
@Controller('holds')
export class HoldsController {
  constructor(private readonly holds: HoldsService) {}

  @Introspected()
  @Scopes('billing:charge')
  @ActsForUser({ body: 'user_id' })
  @Post()
  @HttpCode(HttpStatus.OK)
  @ApiEndpoint(billingApi.placeHold)
  async place(
    @JsonBody(billingApi.placeHold.body)
    body: ParsedBody<typeof billingApi.placeHold>,
    @Req() request: FrameworkRequest,
    @Res({ passthrough: true }) response: ReplyControls,
  ): Promise<billingApi.HoldAnswer> {
    const outcome = await this.holds.place(readCallerService(request), {
      holdId: body.hold_id,
      userId: body.user_id,
      micros: body.amount,
      reason: body.reason,
    });
    switch (outcome.kind) {
      case 'placed':
        response.status(HttpStatus.CREATED);
        return holdAnswer(outcome.hold, outcome.balance);
      case 'placed_before':
        response.header('Idempotent-Replayed', 'true');
        return holdAnswer(outcome.hold, outcome.balance);
      case 'insufficient_funds':
        throw insufficientFunds(outcome.balance);
      case 'account_not_found':
        throw accountNotFound();
      case 'hold_id_reused':
        throw new HttpError(
          HttpStatus.UNPROCESSABLE_ENTITY,
          'this hold_id was used for a different hold',
        );
    }
  }

  @Introspected()
  @Scopes('billing:charge')
  @Post(':hold_id/capture')
  @HttpCode(HttpStatus.OK)
  @ApiEndpoint(billingApi.captureHold)
  async capture(
    @Param('hold_id', HoldIdPipe) holdId: string,
    @Req() request: FrameworkRequest,
    @Res({ passthrough: true }) response: ReplyControls,
  ): Promise<billingApi.HoldAnswer> {
    const { outcome, replayed } = await this.holds.capture(readCallerService(request), holdId);
    switch (outcome.kind) {
      case 'captured':
        if (replayed) response.header('Idempotent-Replayed', 'true');
        return holdAnswer(outcome.hold);
      case 'hold_not_found':
        throw holdNotFound();
      case 'already_released':
        throw new HttpError(HttpStatus.CONFLICT, 'hold already released');
    }
  }

  @Introspected()
  @Scopes('billing:refund')
  @Post(':hold_id/release')
  @HttpCode(HttpStatus.OK)
  @ApiEndpoint(billingApi.releaseHold)
  async release(
    @Param('hold_id', HoldIdPipe) holdId: string,
    @Req() request: FrameworkRequest,
    @Res({ passthrough: true }) response: ReplyControls,
  ): Promise<billingApi.HoldAnswer> {
    const { outcome, replayed } = await this.holds.release(readCallerService(request), holdId);
    switch (outcome.kind) {
      case 'released':
        if (replayed) response.header('Idempotent-Replayed', 'true');
        return holdAnswer(outcome.hold, outcome.balance);
      case 'hold_not_found':
        throw holdNotFound();
      case 'already_captured':
        throw new HttpError(HttpStatus.CONFLICT, 'hold already captured');
      case 'balance_at_limit':
        throw new HttpError(
          HttpStatus.CONFLICT,
          'the balance is at its limit; the hold stays held until it can be paid back',
        );
    }
  }

  @Scopes('billing:charge', 'billing:refund')
  @Get()
  @ApiEndpoint(billingApi.listHolds)
  async list(
    @Query(new ZodBodyPipe(billingApi.listHolds.query))
    query: ParsedQuery<typeof billingApi.listHolds>,
    @Req() request: FrameworkRequest,
  ): Promise<Record<string, unknown>> {
    const page = await this.holds.list(readCallerService(request), {
      state: query.state,
      userId: query.user_id,
      olderThanSeconds: query.older_than_seconds,
      afterSeq: query.after,
      limit: query.limit ?? DEFAULT_PAGE,
    });
    return {
      holds: page.holds.map((hold) => holdAnswer(hold)),
      next_after: page.nextAfter?.toString() ?? null,
    };
  }
}

/** A hold as answered; `balance` (the account's, after the change) when known. */
function holdAnswer(hold: HoldRow, balance?: bigint): billingApi.HoldAnswer {
  return {
    hold_id: hold.holdId,
    user_id: hold.userId,
    amount: toCredits(hold.amount),
    reason: hold.reason,
    state: hold.state,
    ...(balance === undefined ? {} : { balance: toCredits(balance) }),
    charge_transaction_id: hold.chargeTransactionId,
    refund_transaction_id: hold.refundTransactionId,
    created_at: hold.createdAt.toISOString(),
    settled_at: hold.settledAt?.toISOString() ?? null,
  };
}

function holdNotFound(): HttpError {
  return new HttpError(HttpStatus.NOT_FOUND, 'hold not found');
}
