import { z } from 'zod';
import { amount, reason, userId } from '../../billing/dto/billing.schemas';

/** A hold id: 1-64 letters, digits, `_` or `-` (the caller's own id for its saga step). */
export const HOLD_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

const holdId = z
  .string({ required_error: 'is required', invalid_type_error: 'must be a string' })
  .regex(HOLD_ID_PATTERN, 'must be 1-64 letters, digits, "_" or "-"');

/** Body of `POST /holds`. */
export const placeHoldSchema = z
  .object({ hold_id: holdId, user_id: userId, amount, reason })
  .strict();
export type PlaceHoldRequest = z.infer<typeof placeHoldSchema>;

const once = { invalid_type_error: 'must be given once' };

/** Query of `GET /holds`. */
export const listHoldsQuerySchema = z
  .object({
    state: z
      .enum(['held', 'captured', 'released'], {
        errorMap: () => ({ message: 'must be one of: held, captured, released' }),
      })
      .optional(),
    user_id: userId.optional(),
    older_than_seconds: z
      .string(once)
      .regex(/^(0|[1-9][0-9]{0,6})$/, 'must be a whole number of seconds up to 9999999')
      .transform(Number)
      .optional(),
    after: z
      .string(once)
      .regex(/^[1-9][0-9]{0,17}$/, 'must be a next_after value from an earlier page')
      .transform(BigInt)
      .optional(),
    limit: z
      .string(once)
      .regex(/^[1-9][0-9]{0,3}$/, 'must be a whole number from 1 to 1000')
      .transform(Number)
      .refine((value) => value <= 1000, 'must be a whole number from 1 to 1000')
      .optional(),
  })
  .strict();
export type ListHoldsQuery = z.infer<typeof listHoldsQuerySchema>;
