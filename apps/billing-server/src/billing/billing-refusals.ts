import { HttpStatus } from '@nestjs/common';
import { toCredits } from '@zt/contracts';
import { HttpError } from '@zt/service-chassis';

// The refusals several billing routes answer alike (billingApi's `insufficient_funds` and
// `account_not_found`).

/** 402 `{"error":"insufficient funds","balance"}`: nothing was taken. */
export function insufficientFunds(balance: bigint): HttpError {
  return new HttpError(HttpStatus.PAYMENT_REQUIRED, 'insufficient funds', {
    balance: toCredits(balance),
  });
}

/** 404 `{"error":"account not found"}`. */
export function accountNotFound(): HttpError {
  return new HttpError(HttpStatus.NOT_FOUND, 'account not found');
}
