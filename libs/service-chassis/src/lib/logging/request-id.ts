import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { readSingleHeader } from '@zt/service-utils';

/** The field that carries a request's id on every log line of the request. */
export const REQUEST_ID_KEY = 'request_id';

/** The header that carries a request's id into a service, back to its caller, and on every internal call. */
export const REQUEST_ID_HEADER = 'X-Request-ID';

/**
 * What an incoming `X-Request-ID` must look like to be kept: 1 to 128 letters, digits, `.`,
 * `_` or `-` (a UUID fits). Anything else is replaced, so that a client cannot write
 * arbitrary text (a forged log line, a secret) into every log line of its request.
 */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

/** A request that may already carry the id given to it (pino-http keeps it in `id`). */
type IdentifiedRequest = IncomingMessage & { id?: unknown };

/**
 * The id of `request`: the one it arrived with in `X-Request-ID` when that header is present
 * once and matches {@link REQUEST_ID_PATTERN}, else a new UUID. The first call decides and
 * stores it on the request (`request.id`) and sets the `X-Request-ID` response header; later
 * calls return the same id, so the logger and the request context always agree.
 */
export function resolveRequestId(request: IncomingMessage, response?: ServerResponse): string {
  const identified = request as IdentifiedRequest;
  if (typeof identified.id === 'string') return identified.id;
  const header = readSingleHeader(request, REQUEST_ID_HEADER);
  const id =
    header.kind === 'single' && REQUEST_ID_PATTERN.test(header.value) ? header.value : randomUUID();
  identified.id = id;
  if (response && !response.headersSent) response.setHeader(REQUEST_ID_HEADER, id);
  return id;
}
