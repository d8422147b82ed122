import type { InternalAuthConfig } from '../config/internal-auth.config';
import { INTERNAL_TOKEN_HEADER } from './internal-auth.constants';

/**
 * The headers an outgoing internal call carries: `{ "X-INTERNAL-TOKEN": <send token> }`.
 * Only the send token is ever sent; tokens listed in `INTERNAL_SERVICE_TOKEN_ACCEPT` are
 * accepted but never leave the process.
 */
export function internalHeaders(config: InternalAuthConfig): Record<string, string> {
  return { [INTERNAL_TOKEN_HEADER]: config.sendToken };
}
