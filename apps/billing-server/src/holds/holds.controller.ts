import {
  Body,
  Controller,
  Get,
  HttpStatus,
  Param,
  type PipeTransform,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { ApiBody, ApiParam, ApiQuery, ApiResponse } from '@nestjs/swagger';
import { billingApi, type ParsedBody, type ParsedQuery } from '@zt/contracts';
import { HttpError, ZodBodyPipe } from '@zt/service-chassis';
import type { Request, Response } from 'express';
import type { BillingResult } from '../billing/billing-result';
import { readCallerService } from '../billing/idempotency-key';
import { HOLD_ANSWER, PLACE_HOLD_BODY } from './dto/holds.openapi';
import { HoldsService } from './holds.service';

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

  @Post()
  @ApiBody({ schema: PLACE_HOLD_BODY })
  @ApiResponse({
    status: 201,
    description: 'Placed: the amount left the balance',
    schema: HOLD_ANSWER,
  })
  @ApiResponse({
    status: 200,
    description: 'Placed before: the hold as it is now',
    schema: HOLD_ANSWER,
  })
  @ApiResponse({ status: 402, description: '{"error":"insufficient funds","balance"}' })
  @ApiResponse({ status: 404, description: '{"error":"account not found"}' })
  @ApiResponse({ status: 422, description: 'The hold_id was used for a different hold' })
  place(
    @Body(new ZodBodyPipe(billingApi.placeHold.body))
    body: ParsedBody<typeof billingApi.placeHold>,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<Record<string, unknown>> {
    return answer(
      this.holds.place(readCallerService(request), {
        holdId: body.hold_id,
        userId: body.user_id,
        micros: body.amount,
        reason: body.reason,
      }),
      response,
    );
  }

  @Post(':hold_id/capture')
  @ApiParam({
    name: 'hold_id',
    schema: { type: 'string', pattern: billingApi.HOLD_ID_PATTERN.source },
  })
  @ApiResponse({
    status: 200,
    description: 'Captured (also when it was already)',
    schema: HOLD_ANSWER,
  })
  @ApiResponse({ status: 404, description: '{"error":"hold not found"}' })
  @ApiResponse({ status: 409, description: '{"error":"hold already released"}' })
  capture(
    @Param('hold_id', HoldIdPipe) holdId: string,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<Record<string, unknown>> {
    return answer(this.holds.capture(readCallerService(request), holdId), response);
  }

  @Post(':hold_id/release')
  @ApiParam({
    name: 'hold_id',
    schema: { type: 'string', pattern: billingApi.HOLD_ID_PATTERN.source },
  })
  @ApiResponse({
    status: 200,
    description: 'Released: the amount is back (once)',
    schema: HOLD_ANSWER,
  })
  @ApiResponse({ status: 404, description: '{"error":"hold not found"}' })
  @ApiResponse({ status: 409, description: 'Already captured, or the balance is at its limit' })
  release(
    @Param('hold_id', HoldIdPipe) holdId: string,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<Record<string, unknown>> {
    return answer(this.holds.release(readCallerService(request), holdId), response);
  }

  @Get()
  @ApiQuery({ name: 'state', required: false, enum: ['held', 'captured', 'released'] })
  @ApiQuery({ name: 'user_id', required: false })
  @ApiQuery({ name: 'older_than_seconds', required: false, schema: { type: 'integer' } })
  @ApiQuery({ name: 'after', required: false, description: 'next_after of the previous page' })
  @ApiQuery({
    name: 'limit',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: 1000 },
  })
  @ApiResponse({ status: 200, description: '{"holds":[hold...],"next_after"}, oldest first' })
  list(
    @Query(new ZodBodyPipe(billingApi.listHolds.query))
    query: ParsedQuery<typeof billingApi.listHolds>,
    @Req() request: Request,
  ): Promise<Record<string, unknown>> {
    return this.holds.list(readCallerService(request), {
      state: query.state,
      userId: query.user_id,
      olderThanSeconds: query.older_than_seconds,
      afterSeq: query.after,
      limit: query.limit ?? DEFAULT_PAGE,
    });
  }
}

async function answer(
  pending: Promise<BillingResult>,
  response: Response,
): Promise<Record<string, unknown>> {
  const result = await pending;
  response.status(result.status);
  if (result.replayed) response.setHeader('Idempotent-Replayed', 'true');
  return result.body;
}
