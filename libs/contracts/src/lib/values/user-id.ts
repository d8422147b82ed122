import { USER_ID_PATTERN } from '@zt/service-utils';
import { z } from 'zod';

/**
 * A user id as every body, path and `X-User-ID` names it (DESIGN section 4): the pattern is
 * the trust kit's, which checks `X-User-ID`; a UUID from the auth server fits it.
 */
export const userId = z
  .string({ required_error: 'is required', invalid_type_error: 'must be a string' })
  .regex(
    USER_ID_PATTERN,
    'must be 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit',
  );
