import { SetMetadata } from '@nestjs/common';

/** Metadata key that {@link Introspected} sets and the internal guard reads. */
export const INTROSPECTED_KEY = 'internalIntrospected';

/**
 * Marks a route whose caller's service token must also be active at the issuer (RFC 7662
 * introspection), not only verify locally: a revoked token, or a revoked client's, is refused
 * within the introspection cache's time instead of at the token's `exp`. For routes that move
 * money. It takes effect where the service sets `INTERNAL_AUTH_INTROSPECTION=on` (modes
 * `token+jwt` and `jwt`); the issuer's answer is then required, so such a route fails closed
 * (503) while the issuer cannot answer and its last active answer has expired.
 */
export const Introspected = () => SetMetadata(INTROSPECTED_KEY, true);
