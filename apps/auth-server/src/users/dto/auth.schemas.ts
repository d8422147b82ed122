import { authApi } from '@zt/contracts';
import { z } from 'zod';

const { currentPassword, newPassword } = authApi;

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
