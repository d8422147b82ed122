import { z } from 'zod';
import { defineEndpoint, errorAnswer, type HeaderSpec } from '../endpoint';
import { creditAmount } from '../values/credit-amount';
import { errorWith } from '../values/error-body';
import { pageLimit, secondsParameter, sequenceCursor } from '../values/page-query';
import { countByTier, tier } from '../values/tier';
import { userId } from '../values/user-id';

// The billing server's routes (DESIGN section 5; holds: docs/metered-writes.md).

/** A ledger reason: at most 256 characters, no control character. */
export const ledgerReason = z
  .string({ invalid_type_error: 'must be a string' })
  .max(256, 'must be at most 256 characters')
  .refine((value) => !/\p{Cc}/u.test(value), 'must not contain control characters');

/** A hold id: 1-64 letters, digits, `_` or `-` (the caller's own id for its saga step). */
export const HOLD_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** A hold id in a body. */
export const holdId = z
  .string({ required_error: 'is required', invalid_type_error: 'must be a string' })
  .regex(HOLD_ID_PATTERN, 'must be 1-64 letters, digits, "_" or "-"');

const accountNotFound = errorAnswer(
  404,
  'account_not_found',
  'No account for this user',
  errorWith('account not found'),
);
const insufficientFunds = errorAnswer(
  402,
  'insufficient_funds',
  'The balance is short; nothing was taken',
  errorWith('insufficient funds').extend({ balance: z.number() }),
);
const invalidRequest = errorAnswer(400, 'invalid_request', 'Invalid body, path or query');

/** An account as billing answers it. */
export const accountAnswer = z.object({ user_id: z.string(), tier, balance: z.number() });

export const createAccount = defineEndpoint({
  method: 'POST',
  path: '/account',
  summary: "Opens a user's account with the tier's starting balance",
  body: z.object({ user_id: userId, tier }).strict(),
  answers: [
    {
      status: 201,
      kind: 'created',
      body: z.object({ status: z.literal('created'), user_id: z.string(), balance: z.number() }),
      description: 'Opened',
    },
    errorAnswer(
      409,
      'account_exists',
      'This user has an account already',
      errorWith('account exists'),
    ),
    invalidRequest,
  ],
});

export const getBalance = defineEndpoint({
  method: 'GET',
  params: { user_id: 'The user id' },
  path: '/balance/:user_id',
  summary: "A user's tier and balance",
  answers: [
    { status: 200, kind: 'ok', body: accountAnswer, description: 'The account' },
    accountNotFound,
    invalidRequest,
  ],
});

export const subscriptionCount = defineEndpoint({
  method: 'GET',
  path: '/stats/subscription_count',
  summary: 'The number of accounts, in all and by tier',
  answers: [
    {
      status: 200,
      kind: 'ok',
      body: z.object({ subscription_count: z.number(), by_tier: countByTier }),
      description: 'The counts',
    },
  ],
});

/** The body of `POST /deduct` and `POST /top_up`. */
export const balanceChangeBody = z
  .object({ user_id: userId, amount: creditAmount, reason: ledgerReason.optional() })
  .strict();

const balanceChanged = z.object({
  user_id: z.string(),
  balance: z.number(),
  transaction_id: z.string(),
});
const idempotencyRefusals = [
  errorAnswer(409, 'in_progress', 'The same Idempotency-Key is still in flight'),
  errorAnswer(422, 'idempotency_key_reused', 'The Idempotency-Key was used for another request'),
] as const;

/** An `Idempotency-Key`: 1-255 visible ASCII characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** `Idempotency-Key` on `POST /deduct` and `POST /top_up`. */
export const IDEMPOTENCY_KEY_HEADER = {
  name: 'Idempotency-Key',
  description:
    'Same key and body: the first answer is replayed (Idempotent-Replayed: true); another body: 422; still running: 409',
  pattern: IDEMPOTENCY_KEY_PATTERN,
} as const satisfies HeaderSpec;
const REPLAYED = { 'Idempotent-Replayed': '"true" when this replays the answer to the same key' };

export const deduct = defineEndpoint({
  method: 'POST',
  path: '/deduct',
  summary: 'Takes an amount from a balance, with its ledger row, at most once per Idempotency-Key',
  body: balanceChangeBody,
  headers: [IDEMPOTENCY_KEY_HEADER],
  answers: [
    {
      status: 200,
      kind: 'ok',
      body: balanceChanged,
      description: 'Deducted',
      headers: REPLAYED,
    },
    insufficientFunds,
    accountNotFound,
    ...idempotencyRefusals,
    invalidRequest,
  ],
});

export const topUp = defineEndpoint({
  method: 'POST',
  path: '/top_up',
  summary: 'Adds an amount to a balance, with its ledger row, at most once per Idempotency-Key',
  body: balanceChangeBody,
  headers: [IDEMPOTENCY_KEY_HEADER],
  answers: [
    {
      status: 200,
      kind: 'ok',
      body: balanceChanged,
      description: 'Topped up',
      headers: REPLAYED,
    },
    accountNotFound,
    ...idempotencyRefusals,
    errorAnswer(400, 'invalid_request', 'Invalid body, or the balance would pass 1000000000'),
  ],
});

export const ledger = defineEndpoint({
  method: 'GET',
  params: { user_id: 'The user id' },
  path: '/ledger/:user_id',
  summary: "A page of a user's ledger, newest first",
  query: z
    .object({
      limit: pageLimit(100).optional(),
      before: sequenceCursor('next_before').optional(),
    })
    .strict(),
  answers: [
    {
      status: 200,
      kind: 'ok',
      body: z.object({
        user_id: z.string(),
        entries: z.array(
          z.object({
            transaction_id: z.string(),
            kind: z.enum(['opening', 'deduct', 'top_up']),
            amount: z.number(),
            balance_after: z.number(),
            reason: z.string().nullable(),
            created_at: z.string(),
          }),
        ),
        next_before: z.string().nullable(),
      }),
      description: 'Newest first; next_before names the next page, null on the last',
    },
    accountNotFound,
    invalidRequest,
  ],
});

/** The states of a hold. */
export const HOLD_STATES = ['held', 'captured', 'released'] as const;

/** A hold as billing answers it; `balance` (the account's, after the change) when known. */
export const holdAnswer = z.object({
  hold_id: z.string(),
  user_id: z.string(),
  amount: z.number(),
  reason: z.string().nullable(),
  state: z.enum(HOLD_STATES),
  balance: z.number().optional(),
  charge_transaction_id: z.string(),
  refund_transaction_id: z.string().nullable(),
  created_at: z.string(),
  settled_at: z.string().nullable(),
});
export type HoldAnswer = z.output<typeof holdAnswer>;

const holdNotFound = errorAnswer(
  404,
  'hold_not_found',
  'No hold of this caller has this id',
  errorWith('hold not found'),
);

export const placeHold = defineEndpoint({
  method: 'POST',
  path: '/holds',
  summary: 'Takes an amount from a balance now, as a hold settled later',
  body: z
    .object({
      hold_id: holdId,
      user_id: userId,
      amount: creditAmount,
      reason: ledgerReason.optional(),
    })
    .strict(),
  answers: [
    { status: 201, kind: 'placed', body: holdAnswer, description: 'Placed: the amount left' },
    { status: 200, kind: 'placed_before', body: holdAnswer, description: 'The hold as it is now' },
    insufficientFunds,
    accountNotFound,
    errorAnswer(422, 'hold_id_reused', 'The hold_id was used for a different hold'),
    invalidRequest,
  ],
});

export const captureHold = defineEndpoint({
  method: 'POST',
  params: { hold_id: 'The hold id given when it was placed' },
  path: '/holds/:hold_id/capture',
  summary: 'Keeps the money of a hold',
  answers: [
    { status: 200, kind: 'captured', body: holdAnswer, description: 'Captured (also before)' },
    holdNotFound,
    errorAnswer(409, 'already_released', 'The hold was released'),
    invalidRequest,
  ],
});

export const releaseHold = defineEndpoint({
  method: 'POST',
  params: { hold_id: 'The hold id given when it was placed' },
  path: '/holds/:hold_id/release',
  summary: 'Pays the amount of a hold back, once',
  answers: [
    { status: 200, kind: 'released', body: holdAnswer, description: 'Released (also before)' },
    holdNotFound,
    errorAnswer(409, 'not_releasable', 'Already captured, or the balance is at its limit'),
    invalidRequest,
  ],
});

export const listHolds = defineEndpoint({
  method: 'GET',
  path: '/holds',
  summary: "A page of the caller's holds, oldest first",
  query: z
    .object({
      state: z
        .enum(HOLD_STATES, {
          errorMap: () => ({ message: `must be one of: ${HOLD_STATES.join(', ')}` }),
        })
        .optional(),
      user_id: userId.optional(),
      older_than_seconds: secondsParameter.optional(),
      after: sequenceCursor('next_after').optional(),
      limit: pageLimit(1000).optional(),
    })
    .strict(),
  answers: [
    {
      status: 200,
      kind: 'ok',
      body: z.object({ holds: z.array(holdAnswer), next_after: z.string().nullable() }),
      description: 'Oldest first; next_after names the next page, null on the last',
    },
    invalidRequest,
  ],
});
