import { z } from 'zod';

const once = { invalid_type_error: 'must be given once' };

/**
 * A page size in a query string: a whole number from 1 to `max` (a repeated parameter is
 * refused: it arrives as an array).
 */
export function pageLimit(max: number) {
  const message = `must be a whole number from 1 to ${max}`;
  return z
    .string(once)
    .regex(/^[1-9][0-9]*$/, message)
    .transform(Number)
    .refine((value) => value <= max, message);
}

/** A page cursor that is a sequence number from an earlier page (`next_after`, `next_before`). */
export function sequenceCursor(field: string) {
  return z
    .string(once)
    .regex(/^[1-9][0-9]{0,17}$/, `must be a ${field} value from an earlier page`)
    .transform(BigInt);
}

/** A whole number of seconds in a query string, up to 9999999. */
export const secondsParameter = z
  .string(once)
  .regex(/^(0|[1-9][0-9]{0,6})$/, 'must be a whole number of seconds up to 9999999')
  .transform(Number);
