import { BadRequestException, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { readSingleHeader } from '../http/single-header';

/** The shape of a user id everywhere on the platform (a UUID fits it). */
export const USER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** The header through which an internal caller names the user it acts for. */
export const USER_ID_HEADER = 'X-User-ID';

/**
 * Injects the user an internal caller acts for, from `X-User-ID`. Parameter decorators run
 * after guards, so the value is only ever read from a request whose internal credential has
 * been verified. Answers 400 when the header is missing, repeated or not a valid user id.
 */
export const ActingUser = createParamDecorator((_data: unknown, context: ExecutionContext) => {
  const header = readSingleHeader(context.switchToHttp().getRequest<Request>(), USER_ID_HEADER);
  if (header.kind === 'absent')
    throw new BadRequestException({ error: 'X-User-ID header is required' });
  if (header.kind === 'repeated')
    throw new BadRequestException({ error: 'X-User-ID header must appear once' });
  if (!USER_ID_PATTERN.test(header.value)) {
    throw new BadRequestException({ error: 'X-User-ID is not a valid user id' });
  }
  return header.value;
});
