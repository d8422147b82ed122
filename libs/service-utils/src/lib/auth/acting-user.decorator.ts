import {
  BadRequestException,
  createParamDecorator,
  type ExecutionContext,
  ForbiddenException,
} from '@nestjs/common';
import { type FrameworkRequest, nodeRequestOf } from '../http/node-message';
import { readActingUser } from './acting-user';

/**
 * Injects the user an internal caller acts for, from `X-User-ID`. Parameter decorators run
 * after guards, so the value is only ever read from a request whose internal credential has
 * been verified. Answers 400 when the header is missing, repeated or not a valid user id.
 *
 * With service identity (a verified service token), the header is honoured only from a caller
 * whose token holds `actAsUserScope` (e.g. `@ActingUser('files:act-as-user')`), and never when
 * the route names no such scope: else `403 {"error":"Forbidden"}` (DESIGN section 9).
 */
export const ActingUser = createParamDecorator(
  (actAsUserScope: string | undefined, context: ExecutionContext) => {
    const request = nodeRequestOf(context.switchToHttp().getRequest<FrameworkRequest>());
    const actingUser = readActingUser(request, actAsUserScope);
    if (actingUser.kind === 'user') return actingUser.userId;
    if (actingUser.status === 403) throw new ForbiddenException(actingUser.body);
    throw new BadRequestException(actingUser.body);
  },
);
