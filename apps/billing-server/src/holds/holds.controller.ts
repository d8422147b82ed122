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
import { billingApi, type ParsedBody, type ParsedQuery } from '@zt/contracts';
import { ApiEndpoint, HttpError, ZodBodyPipe } from '@zt/service-chassis';
import type { Request, Response } from 'express';
import type { BillingResult } from '../billing/billing-result';
import { readCallerService } from '../billing/idempotency-key';
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
  @ApiEndpoint(billingApi.placeHold)
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
  @ApiEndpoint(billingApi.captureHold)
  capture(
    @Param('hold_id', HoldIdPipe) holdId: string,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<Record<string, unknown>> {
    return answer(this.holds.capture(readCallerService(request), holdId), response);
  }

  @Post(':hold_id/release')
  @ApiEndpoint(billingApi.releaseHold)
  release(
    @Param('hold_id', HoldIdPipe) holdId: string,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<Record<string, unknown>> {
    return answer(this.holds.release(readCallerService(request), holdId), response);
  }

  @Get()
  @ApiEndpoint(billingApi.listHolds)
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
