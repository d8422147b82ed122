import { z } from 'zod';

/**
 * A service's name as it calls others (`X-Caller-Service`, a billing idempotency namespace):
 * lower-case letters, digits and `-`, at most 63 characters.
 */
export const CALLER_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** A caller name in a body or header. */
export const callerName = z
  .string()
  .regex(CALLER_NAME_PATTERN, 'must be lower-case letters, digits and "-" (at most 63)');
