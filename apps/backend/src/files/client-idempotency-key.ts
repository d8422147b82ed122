import { HttpStatus } from '@nestjs/common';
import { readSingleHeader } from '@zt/service-utils';
import { HttpError } from '@zt/service-chassis';
import type { IncomingMessage } from 'node:http';

const CLIENT_KEY = /^[\x21-\x7e]{1,200}$/;

/**
 * The client's `Idempotency-Key` (1-200 visible ASCII characters, at most once), or
 * `undefined` when it sent none.
 * @throws HttpError 400 for a repeated or malformed key: the client asked for a retry
 *   guarantee that could not be given, so the write is refused rather than done without it.
 */
export function readClientIdempotencyKey(request: IncomingMessage): string | undefined {
  const header = readSingleHeader(request, 'Idempotency-Key');
  if (header.kind === 'absent') return undefined;
  if (header.kind === 'repeated') {
    throw new HttpError(HttpStatus.BAD_REQUEST, 'Idempotency-Key must appear once');
  }
  if (!CLIENT_KEY.test(header.value)) {
    throw new HttpError(
      HttpStatus.BAD_REQUEST,
      'Idempotency-Key must be 1-200 visible ASCII characters',
    );
  }
  return header.value;
}
