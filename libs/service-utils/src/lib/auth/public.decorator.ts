import { SetMetadata } from '@nestjs/common';

/** Metadata key that {@link Public} sets and {@link InternalTokenGuard} reads. */
export const IS_PUBLIC_KEY = 'isPublic';

/**
 * Marks a route (or a whole controller) as reachable without the internal credential.
 * Every other route is denied by default. Use it for health checks, JWKS and the public
 * auth routes only: the route-inventory test lists every route that carries it.
 */
export const Public = () => SetMetadata(IS_PUBLIC_KEY, true);
