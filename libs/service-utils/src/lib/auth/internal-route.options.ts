import type { InternalRouteAuth } from './internal-auth-check';

/** What a route of a non-Nest app asks of its internal callers (Express, Fastify). */
export interface InternalRouteOptions extends InternalRouteAuth {
  /**
   * Reads `X-User-ID` after the check (the handler gets it as `actingUserId`): `true`, or the
   * scope a verified service token must hold to name a user (`'files:act-as-user'`), as
   * `@ActingUser()` does. A missing, repeated or malformed header is a 400; a verified caller
   * without the scope (or on a route that names none) a 403.
   */
  readonly actingUser?: true | string;
}
