import type { FrameworkRequest } from '../http/node-message';
import { readSingleHeader } from '../http/single-header';
import { verifiedCallerOf } from './verified-caller';

/** The shape of a user id everywhere on the platform (a UUID fits it). */
export const USER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** The header through which an internal caller names the user it acts for. */
export const USER_ID_HEADER = 'X-User-ID';

/** The user an internal caller acts for, or why it may not name one. */
export type ActingUserResult =
  | { readonly kind: 'user'; readonly userId: string }
  | {
      readonly kind: 'refused';
      readonly status: 400 | 403;
      readonly body: { readonly error: string };
    };

/**
 * Reads the user an internal caller acts for, from `X-User-ID`, after the internal check let
 * the request through (framework-neutral: `@ActingUser()`, the Express middleware and the
 * Fastify hook use it). With a verified service token, the header is honoured only from a
 * caller whose token holds `actAsUserScope`, and never when no such scope is named: else 403
 * (DESIGN section 9). A missing, repeated or malformed header is a 400.
 */
export function readActingUser(
  request: FrameworkRequest,
  actAsUserScope: string | undefined,
): ActingUserResult {
  const caller = verifiedCallerOf(request);
  if (caller && (actAsUserScope === undefined || !caller.scopes.has(actAsUserScope))) {
    return { kind: 'refused', status: 403, body: { error: 'Forbidden' } };
  }
  const header = readSingleHeader(request, USER_ID_HEADER);
  if (header.kind === 'absent') return badRequest('X-User-ID header is required');
  if (header.kind === 'repeated') return badRequest('X-User-ID header must appear once');
  if (!USER_ID_PATTERN.test(header.value)) return badRequest('X-User-ID is not a valid user id');
  return { kind: 'user', userId: header.value };
}

function badRequest(error: string): ActingUserResult {
  return { kind: 'refused', status: 400, body: { error } };
}
