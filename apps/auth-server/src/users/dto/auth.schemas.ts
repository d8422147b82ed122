import { z } from 'zod';
import { TIERS } from '../tiers';

/** The shortest accepted password. */
export const MIN_PASSWORD_LENGTH = 12;

const email = z
  .string({ required_error: 'is required', invalid_type_error: 'must be a string' })
  .trim()
  .toLowerCase()
  .max(254, 'must be at most 254 characters')
  .regex(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'must be an email address');

/** Body of `POST /register`. */
export const registerSchema = z
  .object({
    email,
    password: z
      .string({ required_error: 'is required', invalid_type_error: 'must be a string' })
      .min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`)
      .max(1024, 'must be at most 1024 characters'),
    invite_code: z
      .string({ required_error: 'is required', invalid_type_error: 'must be a string' })
      .regex(/^[A-Za-z0-9_-]{16,64}$/, 'is not an invite code'),
  })
  .strict();
export type RegisterRequest = z.infer<typeof registerSchema>;

/** Body of `POST /login`. Deliberately loose: every mismatch is the same 401. */
export const loginSchema = z
  .object({
    email: z
      .string({ required_error: 'is required', invalid_type_error: 'must be a string' })
      .max(254),
    password: z
      .string({ required_error: 'is required', invalid_type_error: 'must be a string' })
      .max(1024),
  })
  .strict();
export type LoginRequest = z.infer<typeof loginSchema>;

/** Body of `POST /invites`. */
export const createInviteSchema = z
  .object({
    tier: z.enum(TIERS, { errorMap: () => ({ message: `must be one of: ${TIERS.join(', ')}` }) }),
  })
  .strict();
export type CreateInviteRequest = z.infer<typeof createInviteSchema>;
