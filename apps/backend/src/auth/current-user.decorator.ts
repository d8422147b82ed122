import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { type FrameworkRequest, nodeRequestOf } from '@zt/service-utils';
import { getAuthenticatedUser } from './authenticated-user';

/**
 * Injects the {@link AuthenticatedUser} whose access token {@link UserTokenGuard} verified.
 * Parameter decorators run after guards, so it never sees an unverified request; on a
 * `@Public()` route there is no user, and using it there is a programming error (500).
 */
export const CurrentUser = createParamDecorator((_data: unknown, context: ExecutionContext) => {
  const user = getAuthenticatedUser(
    nodeRequestOf(context.switchToHttp().getRequest<FrameworkRequest>()),
  );
  if (!user) throw new Error('@CurrentUser() used on a route without a verified access token');
  return user;
});
