import { z } from 'zod';
import { TIERS } from '../tiers';

/** The shortest accepted password, in characters (code points). */
export const MIN_PASSWORD_LENGTH = 12;
/** The longest accepted password, in characters (code points). */
export const MAX_PASSWORD_LENGTH = 1024;

/** Characters, as a person counts them: code points, not UTF-16 units (an emoji is one). */
const codePoints = (text: string) => [...text].length;
// C0, DEL and C1: never part of an address, and a NUL is refused by PostgreSQL itself.
const CONTROL_CHARACTER = /\p{Cc}/u;

const text = () =>
  z.string({ required_error: 'is required', invalid_type_error: 'must be a string' });

const email = text()
  .trim()
  .toLowerCase()
  .max(254, 'must be at most 254 characters')
  .refine((value) => !CONTROL_CHARACTER.test(value), 'must not contain control characters')
  .refine((value) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value), 'must be an email address');

/** A password a user may choose: 12 to 1024 characters (code points). */
const newPassword = text()
  .refine(
    (value) => codePoints(value) >= MIN_PASSWORD_LENGTH,
    `must be at least ${MIN_PASSWORD_LENGTH} characters`,
  )
  .refine(
    (value) => codePoints(value) <= MAX_PASSWORD_LENGTH,
    `must be at most ${MAX_PASSWORD_LENGTH} characters`,
  );
/** A password as typed to prove who one is: only bounded (any mismatch is a 401). */
const currentPassword = text().refine(
  (value) => codePoints(value) <= MAX_PASSWORD_LENGTH,
  'is too long',
);

/** Body of `POST /register`. */
export const registerSchema = z
  .object({
    email,
    password: newPassword,
    invite_code: text().regex(/^[A-Za-z0-9_-]{16,64}$/, 'is not an invite code'),
  })
  .strict();
export type RegisterRequest = z.infer<typeof registerSchema>;

/**
 * Body of `POST /login`. Deliberately loose: every mismatch of a well-formed request is the
 * same 401; only what no account could ever hold (a control character in the email, an
 * oversized field) is a 400.
 */
export const loginSchema = z
  .object({
    email: text()
      .max(254)
      .refine((value) => !CONTROL_CHARACTER.test(value), 'must not contain control characters'),
    password: currentPassword,
  })
  .strict();
export type LoginRequest = z.infer<typeof loginSchema>;

/** Body of `POST /users/:user_id/password` (internal: the backend's `POST /me/password`). */
export const changePasswordSchema = z
  .object({ current_password: currentPassword, new_password: newPassword })
  .strict();
export type ChangePasswordRequest = z.infer<typeof changePasswordSchema>;

const uuid = text().uuid('must be a UUID');

/** Body of `POST /revocations` (internal: the backend's `POST /me/logout`). */
export const revokeTokenSchema = z
  .object({
    user_id: uuid,
    jti: uuid,
    expires_at: z
      .number({ required_error: 'is required', invalid_type_error: 'must be a number' })
      .int('must be whole seconds since 1970'),
  })
  .strict();
export type RevokeTokenRequest = z.infer<typeof revokeTokenSchema>;

const once = { invalid_type_error: 'must be given once' };

/** Query of `GET /revocations`. */
export const revocationsQuerySchema = z
  .object({
    after: z
      .string(once)
      .regex(/^(0|[1-9][0-9]{0,17})$/, 'must be a seq from an earlier answer')
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
export type RevocationsQuery = z.infer<typeof revocationsQuerySchema>;

/** Body of `POST /invites`. */
export const createInviteSchema = z
  .object({
    tier: z.enum(TIERS, { errorMap: () => ({ message: `must be one of: ${TIERS.join(', ')}` }) }),
  })
  .strict();
export type CreateInviteRequest = z.infer<typeof createInviteSchema>;
