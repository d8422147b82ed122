import type { SchemaObject } from '@nestjs/swagger';
import { BALANCE_CHANGE_BODY } from '../../billing/dto/billing.openapi';

// OpenAPI descriptions of what holds.schemas.ts validates; the zod schemas stay the rule.

const HOLD_ID: SchemaObject = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' };

/** Body of `POST /holds`. */
export const PLACE_HOLD_BODY: SchemaObject = {
  type: 'object',
  additionalProperties: false,
  required: ['hold_id', 'user_id', 'amount'],
  properties: { hold_id: HOLD_ID, ...BALANCE_CHANGE_BODY.properties },
};

/** A hold as every holds route answers it. */
export const HOLD_ANSWER: SchemaObject = {
  type: 'object',
  properties: {
    hold_id: HOLD_ID,
    user_id: { type: 'string' },
    amount: { type: 'number' },
    reason: { type: 'string', nullable: true },
    state: { type: 'string', enum: ['held', 'captured', 'released'] },
    balance: { type: 'number', description: 'The balance after the change, when known' },
    charge_transaction_id: { type: 'string', format: 'uuid' },
    refund_transaction_id: { type: 'string', format: 'uuid', nullable: true },
    created_at: { type: 'string', format: 'date-time' },
    settled_at: { type: 'string', format: 'date-time', nullable: true },
  },
};
