/** The header that carries the internal credential on every internal call. */
export const INTERNAL_TOKEN_HEADER = 'X-INTERNAL-TOKEN';

/** Injection token of the {@link InternalAuthConfig} given to `InternalAuthModule.forRoot`. */
export const INTERNAL_AUTH_CONFIG = Symbol('INTERNAL_AUTH_CONFIG');

/**
 * Metadata key that `@InternalOnly()` sets and `InternalTokenGuard` reads. Kept here rather
 * than beside the decorator because the decorator imports the guard, and the guard needs the key.
 */
export const IS_INTERNAL_ONLY_KEY = 'isInternalOnly';

/**
 * Metadata key that `@ScrapeOnly()` sets and `InternalTokenGuard` reads: the route takes the
 * read-only scrape credential (`Authorization: Bearer`), never `X-INTERNAL-TOKEN`.
 */
export const IS_SCRAPE_ONLY_KEY = 'isScrapeOnly';
