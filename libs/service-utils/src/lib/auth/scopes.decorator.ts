import { SetMetadata } from '@nestjs/common';

/** Metadata key that {@link Scopes} sets and the internal guard reads. */
export const SCOPES_KEY = 'internalScopes';

/**
 * Declares which scopes a service token must carry (at least one of them) to call this route
 * or controller, e.g. `@Scopes('billing:charge')`. With service identity (`INTERNAL_AUTH_MODE`
 * `token+jwt` or `jwt`), an internal route without a declaration refuses every caller, and the
 * route inventory lists each route's scopes.
 */
export const Scopes = (...scopes: [string, ...string[]]) => SetMetadata(SCOPES_KEY, scopes);
