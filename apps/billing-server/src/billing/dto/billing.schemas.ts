import { USER_ID_PATTERN } from '@zt/service-utils';
import { z } from 'zod';
import { parseAmount } from '../../money/credits';
import { TIERS, type Tier } from '../tiers';

/** A user id, as every body and path names it. */
export const userId = z
  .string({ required_error: 'is required', invalid_type_error: 'must be a string' })
  .regex(
    USER_ID_PATTERN,
    'must be 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit',
  );

/** An amount of credits, as sent: its micro-credits. */
export const amount = z.unknown().transform((value, context) => {
  const micros = parseAmount(value);
  if (micros === undefined) {
    context.addIssue({
      code: z.ZodIssueCode.custom,
      message:
        'must be a number of credits greater than 0 and at most 1000000, with at most 6 decimals (e.g. 5 or "4.25")',
    });
    return z.NEVER;
  }
  return micros;
});

/** A ledger reason: at most 256 characters, no control character. */
export const reason = z
  .string({ invalid_type_error: 'must be a string' })
  .max(256, 'must be at most 256 characters')
  .refine((value) => !/\p{Cc}/u.test(value), 'must not contain control characters')
  .optional();

/** Body of `POST /account`. */
export const createAccountSchema = z
  .object({
    user_id: userId,
    tier: z.enum(TIERS as [Tier, ...Tier[]], {
      errorMap: () => ({ message: `must be one of: ${TIERS.join(', ')}` }),
    }),
  })
  .strict();
export type CreateAccountRequest = z.infer<typeof createAccountSchema>;

/** Body of `POST /deduct` and `POST /top_up`. */
export const balanceChangeSchema = z.object({ user_id: userId, amount, reason }).strict();
export type BalanceChangeRequest = z.infer<typeof balanceChangeSchema>;

/** Query of `GET /ledger/:user_id`. */
export const ledgerQuerySchema = z
  .object({
    limit: z
      .string({ invalid_type_error: 'must be given once' })
      .regex(/^[1-9][0-9]{0,2}$/, 'must be a whole number from 1 to 100')
      .transform(Number)
      .refine((value) => value <= 100, 'must be a whole number from 1 to 100')
      .optional(),
    before: z
      .string({ invalid_type_error: 'must be given once' })
      .regex(/^[1-9][0-9]{0,17}$/, 'must be a next_before value from an earlier page')
      .transform(BigInt)
      .optional(),
  })
  .strict();
export type LedgerQuery = z.infer<typeof ledgerQuerySchema>;
