import { HttpStatus } from '@nestjs/common';
import { billingApi, CALLER_NAME_PATTERN } from '@zt/contracts';
import { type FrameworkRequest, readSingleHeader, verifiedCallerOf } from '@zt/service-utils';
import { HttpError } from '@zt/service-chassis';

/** The key of an idempotent request and the calling service whose namespace it lives in. */
export interface IdempotencyKey {
  readonly caller: string;
  readonly key: string;
}

/**
 * Reads `Idempotency-Key` (1-255 visible ASCII characters, at most once) and the
 * `X-Caller-Service` namespace it belongs to (`unspecified` when absent).
 * @returns undefined when the request carries no key.
 * @throws HttpError 400 for a malformed or repeated header.
 */
export function readIdempotencyKey(request: FrameworkRequest): IdempotencyKey | undefined {
  const key = readSingleHeader(request, 'Idempotency-Key');
  if (key.kind === 'absent') return undefined;
  if (key.kind === 'repeated')
    throw new HttpError(HttpStatus.BAD_REQUEST, 'Idempotency-Key must appear once');
  if (!billingApi.IDEMPOTENCY_KEY_PATTERN.test(key.value)) {
    throw new HttpError(
      HttpStatus.BAD_REQUEST,
      'Idempotency-Key must be 1-255 visible ASCII characters',
    );
  }
  return { caller: readCallerService(request), key: key.value };
}

/**
 * The calling service, the namespace of its idempotency keys and holds: the one its verified
 * service token names when it sent one (`INTERNAL_AUTH_MODE` `token+jwt` or `jwt`; the header
 * is then ignored), else as `X-Caller-Service` names it (`unspecified` when absent).
 * @throws HttpError 400 for a malformed or repeated header.
 */
export function readCallerService(request: FrameworkRequest): string {
  const verified = verifiedCallerOf(request);
  if (verified) return verified.name;
  const caller = readSingleHeader(request, 'X-Caller-Service');
  if (caller.kind === 'repeated')
    throw new HttpError(HttpStatus.BAD_REQUEST, 'X-Caller-Service must appear once');
  if (caller.kind === 'single' && !CALLER_NAME_PATTERN.test(caller.value)) {
    throw new HttpError(
      HttpStatus.BAD_REQUEST,
      'X-Caller-Service must be a lower-case service name',
    );
  }
  return caller.kind === 'single' ? caller.value : 'unspecified';
}
