import { z } from 'zod';
import { defineEndpoint, errorAnswer } from '../endpoint';
import { errorWith } from '../values/error-body';
import { pageLimit } from '../values/page-query';
import { countByTier, tier } from '../values/tier';

// The auth server's internal routes (DESIGN section 7; sessions: docs/decisions.md).

/** The shortest accepted password, in characters (code points). */
export const MIN_PASSWORD_LENGTH = 12;
/** The longest accepted password, in characters (code points). */
export const MAX_PASSWORD_LENGTH = 1024;

/** Characters, as a person counts them: code points, not UTF-16 units (an emoji is one). */
const codePoints = (text: string) => [...text].length;

const text = () =>
  z.string({ required_error: 'is required', invalid_type_error: 'must be a string' });

/** A password a user may choose: 12 to 1024 characters (code points). */
export const newPassword = text()
  .refine(
    (value) => codePoints(value) >= MIN_PASSWORD_LENGTH,
    `must be at least ${MIN_PASSWORD_LENGTH} characters`,
  )
  .refine(
    (value) => codePoints(value) <= MAX_PASSWORD_LENGTH,
    `must be at most ${MAX_PASSWORD_LENGTH} characters`,
  );

/** A password as typed to prove who one is: only bounded (any mismatch is a 401). */
export const currentPassword = text().refine(
  (value) => codePoints(value) <= MAX_PASSWORD_LENGTH,
  'is too long',
);

const uuid = text().uuid('must be a UUID');

// C0, DEL and C1: never part of an address, and a NUL is refused by PostgreSQL itself.
const CONTROL_CHARACTER = /\p{Cc}/u;

const email = text()
  .trim()
  .toLowerCase()
  .max(254, 'must be at most 254 characters')
  .refine((value) => !CONTROL_CHARACTER.test(value), 'must not contain control characters')
  .refine((value) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value), 'must be an email address');

export const register = defineEndpoint({
  method: 'POST',
  path: '/register',
  summary: "Registers with an invite: the user, and a billing account of the invite's tier",
  body: z
    .object({
      email,
      password: newPassword,
      invite_code: text().regex(/^[A-Za-z0-9_-]{16,64}$/, 'is not an invite code'),
    })
    .strict(),
  answers: [
    {
      status: 201,
      kind: 'registered',
      body: z.object({ user_id: z.string(), email: z.string(), tier }),
      description: 'Registered',
    },
    errorAnswer(403, 'invalid_invite', 'Unknown or used invite code', errorWith('invalid invite')),
    errorAnswer(409, 'email_taken', 'The email is taken'),
    errorAnswer(
      503,
      'billing_unavailable',
      'Billing did not answer: nothing was kept, the invite is not used',
      errorWith('billing unavailable'),
    ),
    errorAnswer(400, 'invalid_request', 'Invalid body or a password under 12 characters'),
  ],
});

/**
 * `POST /login`. Deliberately loose: every mismatch of a well-formed request is the same 401;
 * only what no account could ever hold (a control character in the email, an oversized
 * field) is a 400.
 */
export const login = defineEndpoint({
  method: 'POST',
  path: '/login',
  summary: 'A user access token (an EdDSA JWT for the backend) for email and password',
  body: z
    .object({
      email: text()
        .max(254)
        .refine((value) => !CONTROL_CHARACTER.test(value), 'must not contain control characters'),
      password: currentPassword,
    })
    .strict(),
  answers: [
    {
      status: 200,
      kind: 'ok',
      body: z.object({
        access_token: z.string(),
        token_type: z.literal('Bearer'),
        expires_in: z.number(),
      }),
      description: 'An access token',
    },
    errorAnswer(
      401,
      'invalid_credentials',
      'Unknown email or wrong password (the same answer)',
      errorWith('invalid credentials'),
    ),
    errorAnswer(429, 'too_many_attempts', 'Too many failed attempts'),
    errorAnswer(400, 'invalid_request', 'Invalid body'),
  ],
});

export const changePassword = defineEndpoint({
  method: 'POST',
  path: '/users/:user_id/password',
  summary: "Changes a user's password after checking the current one; revokes every token",
  body: z.object({ current_password: currentPassword, new_password: newPassword }).strict(),
  answers: [
    {
      status: 204,
      kind: 'changed',
      body: z.unknown(),
      description: 'Changed; every token issued before is revoked',
    },
    errorAnswer(
      401,
      'invalid_credentials',
      'The current password is wrong',
      errorWith('invalid credentials'),
    ),
    errorAnswer(429, 'too_many_attempts', 'Too many failed attempts'),
    errorAnswer(400, 'invalid_request', 'Invalid body or a new password under 12 characters'),
  ],
});

export const revokeToken = defineEndpoint({
  method: 'POST',
  path: '/revocations',
  summary: "Ends the session of one user token (by its jti) until the token's expiry",
  body: z
    .object({
      user_id: uuid,
      jti: uuid,
      expires_at: z
        .number({ required_error: 'is required', invalid_type_error: 'must be a number' })
        .int('must be whole seconds since 1970'),
    })
    .strict(),
  answers: [
    { status: 204, kind: 'revoked', body: z.unknown(), description: 'Revoked (also before)' },
    errorAnswer(404, 'user_not_found', 'No such user', errorWith('user not found')),
    errorAnswer(400, 'invalid_request', 'Invalid body'),
  ],
});

/** Most revocations in one page of `GET /revocations`, and the default. */
export const MAX_REVOCATIONS_PAGE = 1000;

/** One revocation: of one token (`jti`), or of every token before `not_before` (unix seconds). */
export const revocation = z.object({
  seq: z.string(),
  user_id: z.string(),
  jti: z.string().nullable(),
  not_before: z.number().nullable(),
  expires_at: z.number(),
});
export type Revocation = z.output<typeof revocation>;

export const listRevocations = defineEndpoint({
  method: 'GET',
  path: '/revocations',
  summary: 'Revocations made after a seq whose tokens have not expired, in the order made',
  query: z
    .object({
      after: z
        .string({ invalid_type_error: 'must be given once' })
        .regex(/^(0|[1-9][0-9]{0,17})$/, 'must be a seq from an earlier answer')
        .transform(BigInt)
        .optional(),
      limit: pageLimit(MAX_REVOCATIONS_PAGE).optional(),
    })
    .strict(),
  answers: [
    {
      status: 200,
      kind: 'ok',
      body: z.object({ revocations: z.array(revocation), next_after: z.string().nullable() }),
      description: 'A page; next_after names the next one, null on the last',
    },
    errorAnswer(400, 'invalid_request', 'Invalid query'),
  ],
});

export const createInvite = defineEndpoint({
  method: 'POST',
  path: '/invites',
  summary: 'Makes a single-use invite of a tier',
  body: z.object({ tier }).strict(),
  answers: [
    {
      status: 201,
      kind: 'created',
      body: z.object({ invite_code: z.string(), tier }),
      description: 'The invite',
    },
    errorAnswer(400, 'invalid_request', 'Unknown tier'),
  ],
});

export const authStats = defineEndpoint({
  method: 'GET',
  path: '/stats',
  summary: 'Users and subscriptions (the latter read from billing)',
  answers: [
    {
      status: 200,
      kind: 'ok',
      body: z.object({
        users: z.number(),
        subscription_count: z.number(),
        by_tier: countByTier,
      }),
      description: 'The counts',
    },
    errorAnswer(
      503,
      'billing_unavailable',
      'Billing did not answer',
      errorWith('billing unavailable'),
    ),
  ],
});
