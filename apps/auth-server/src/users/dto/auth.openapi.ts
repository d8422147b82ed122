import type { SchemaObject } from '@nestjs/swagger';

// OpenAPI descriptions of the bodies that auth.schemas.ts validates (zod schemas are not read
// by @nestjs/swagger). The zod schemas stay the rule; these say it to readers.

const TIER: SchemaObject = { type: 'string', enum: ['free', 'pro', 'team'] };

/** Body of `POST /register`. */
export const REGISTER_BODY: SchemaObject = {
  type: 'object',
  additionalProperties: false,
  required: ['email', 'password', 'invite_code'],
  properties: {
    email: { type: 'string', format: 'email', maxLength: 254 },
    password: { type: 'string', format: 'password', minLength: 12, maxLength: 1024 },
    invite_code: { type: 'string', pattern: '^[A-Za-z0-9_-]{16,64}$' },
  },
};

/** Body of `POST /login`. */
export const LOGIN_BODY: SchemaObject = {
  type: 'object',
  additionalProperties: false,
  required: ['email', 'password'],
  properties: {
    email: { type: 'string', maxLength: 254 },
    password: { type: 'string', format: 'password', maxLength: 1024 },
  },
};

/** Answer of `POST /login`. */
export const LOGIN_ANSWER: SchemaObject = {
  type: 'object',
  properties: {
    access_token: { type: 'string', description: 'An EdDSA JWT for the backend (aud "backend")' },
    token_type: { type: 'string', example: 'Bearer' },
    expires_in: { type: 'integer', description: 'Seconds' },
  },
};

/** Body of `POST /invites`. */
export const CREATE_INVITE_BODY: SchemaObject = {
  type: 'object',
  additionalProperties: false,
  required: ['tier'],
  properties: { tier: TIER },
};
