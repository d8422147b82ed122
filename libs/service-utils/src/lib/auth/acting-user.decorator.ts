import {
  BadRequestException,
  createParamDecorator,
  type ExecutionContext,
  ForbiddenException,
} from '@nestjs/common';
import type { Request } from 'express';
import { readSingleHeader } from '../http/single-header';
import { verifiedCallerOf } from './verified-caller';

/** The shape of a user id everywhere on the platform (a UUID fits it). */
export const USER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** The header through which an internal caller names the user it acts for. */
export const USER_ID_HEADER = 'X-User-ID';

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
    const request = context.switchToHttp().getRequest<Request>();
    const caller = verifiedCallerOf(request);
    if (caller && (actAsUserScope === undefined || !caller.scopes.has(actAsUserScope))) {
      throw new ForbiddenException({ error: 'Forbidden' });
    }
    const header = readSingleHeader(request, USER_ID_HEADER);
    if (header.kind === 'absent')
      throw new BadRequestException({ error: 'X-User-ID header is required' });
    if (header.kind === 'repeated')
      throw new BadRequestException({ error: 'X-User-ID header must appear once' });
    if (!USER_ID_PATTERN.test(header.value)) {
      throw new BadRequestException({ error: 'X-User-ID is not a valid user id' });
    }
    return header.value;
  },
);
