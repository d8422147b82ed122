import { SERVICE_NAME_PATTERN } from '@zt/service-utils';
import { z } from 'zod';

/**
 * A service's name as it calls others (`X-Caller-Service`, a billing idempotency namespace):
 * the trust kit's one grammar of service names (lower-case words joined by single dashes,
 * starting with a letter, at most 63 characters).
 */
export const CALLER_NAME_PATTERN = SERVICE_NAME_PATTERN;

/** A caller name in a body or header. */
export const callerName = z
  .string()
  .regex(
    CALLER_NAME_PATTERN,
    'must be lower-case words of letters and digits joined by "-" (at most 63 characters)',
  );
