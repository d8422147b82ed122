import type { SchemaObject } from '@nestjs/swagger';

// OpenAPI descriptions of the bodies that billing.schemas.ts validates (zod schemas are not
// read by @nestjs/swagger). The zod schemas stay the rule; these say it to readers.

const USER_ID: SchemaObject = {
  type: 'string',
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$',
  example: 'valid-user',
};
const CREDITS: SchemaObject = {
  oneOf: [{ type: 'number' }, { type: 'string', pattern: '^(0|[1-9][0-9]{0,6})(\\.[0-9]{1,6})?$' }],
  description: 'Credits, > 0 and <= 1000000, at most 6 decimals',
  example: 4.25,
};

/** Body of `POST /account`. */
export const CREATE_ACCOUNT_BODY: SchemaObject = {
  type: 'object',
  additionalProperties: false,
  required: ['user_id', 'tier'],
  properties: { user_id: USER_ID, tier: { type: 'string', enum: ['free', 'pro', 'team'] } },
};

/** Body of `POST /deduct` and `POST /top_up`. */
export const BALANCE_CHANGE_BODY: SchemaObject = {
  type: 'object',
  additionalProperties: false,
  required: ['user_id', 'amount'],
  properties: {
    user_id: USER_ID,
    amount: CREDITS,
    reason: { type: 'string', maxLength: 256 },
  },
};

/** Answer of a deduct or top-up. */
export const BALANCE_CHANGE_ANSWER: SchemaObject = {
  type: 'object',
  properties: {
    user_id: { type: 'string' },
    balance: { type: 'number' },
    transaction_id: { type: 'string', format: 'uuid' },
  },
};

/** The `Idempotency-Key` header of `POST /deduct` and `POST /top_up`. */
export const IDEMPOTENCY_KEY_HEADER = {
  name: 'Idempotency-Key',
  required: false,
  description:
    'Same key and body: the first answer is replayed (Idempotent-Replayed: true); another body: 422; still running: 409',
  schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
};
