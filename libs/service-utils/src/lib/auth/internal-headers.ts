import type { InternalAuthConfig } from '../config/internal-auth.config';
import { INTERNAL_TOKEN_HEADER } from './internal-auth.constants';

/**
 * The shared-token header an outgoing internal call carries: `{ "X-INTERNAL-TOKEN": <send
 * token> }`, or nothing in `jwt` mode without one. Only the send token is ever sent; tokens
 * listed in `INTERNAL_SERVICE_TOKEN_ACCEPT` are accepted but never leave the process. A call
 * that carries a service token too gets its headers from `InternalCallCredentials`.
 */
export function internalHeaders(config: InternalAuthConfig): Record<string, string> {
  return config.sendToken === undefined ? {} : { [INTERNAL_TOKEN_HEADER]: config.sendToken };
}
