import { applyDecorators, SetMetadata, UseGuards, UseInterceptors } from '@nestjs/common';
import { ACTS_FOR_USER_KEY, type NamedUser } from './user-proof.constants';
import { UserProofGuard } from './user-proof.guard';
import { UserProofInterceptor } from './user-proof.interceptor';

// Declared beside the guard (which reads them), exported here beside the decorator.
export { ACTS_FOR_USER_KEY, type NamedUser };

/**
 * Marks a route that acts for the user the request names (`named`). Where the service sets
 * `USER_PROOF=required` ({@link UserProofModule}), {@link UserProofGuard} then also asks for
 * that user's own proof: a user assertion in `X-User-Assertion`, for this service, exchanged
 * by the very service whose token the internal guard verified, holding a scope the route
 * accepts (`@Scopes()`), and naming that user. A stolen service credential alone then reads or
 * charges nobody. With `USER_PROOF=off` the route is as before.
 *
 * It runs after the global internal guard, whose work it does not repeat; a user named in the
 * JSON body is compared once the body is read ({@link UserProofInterceptor}). Only such routes
 * get the interceptor: each interceptor costs every request of its route (Nest binds an async
 * resource per interceptor and request), whatever it then does.
 */
export const ActsForUser = (named: NamedUser) =>
  applyDecorators(
    SetMetadata(ACTS_FOR_USER_KEY, named),
    UseGuards(UserProofGuard),
    ...('body' in named ? [UseInterceptors(UserProofInterceptor)] : []),
  );
