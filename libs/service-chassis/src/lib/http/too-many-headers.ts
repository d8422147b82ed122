import { Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { refuseEarly } from './early-refusal';

/**
 * Header lines a request may have. Node keeps the first 2,000 and drops the rest without a
 * word, so a repeated credential placed after enough filler lines would never be seen by the
 * single-header checks. Far below Node's cap, every dropped line is behind a refused request.
 */
export const MAX_HEADER_LINES = 100;

/** The body of the answer to a request with more than {@link MAX_HEADER_LINES} header lines. */
export const TOO_MANY_HEADERS_BODY = { error: 'too many header lines' } as const;

const logger = new Logger('TooManyHeaders');

/** Whether `request` has more than {@link MAX_HEADER_LINES} header lines. */
export function hasTooManyHeaders(request: IncomingMessage): boolean {
  return request.rawHeaders.length / 2 > MAX_HEADER_LINES;
}

/**
 * Answers a request with too many header lines (see {@link hasTooManyHeaders}) with
 * `431 {"error":"too many header lines"}` and one `too_many_headers` log line. The HTTP
 * adapter (`createHttpAdapter`) does so before routing, the guard or any handler.
 */
export function refuseTooManyHeaders(request: IncomingMessage, response: ServerResponse): void {
  logger.warn({
    event: 'too_many_headers',
    header_lines: request.rawHeaders.length / 2,
    method: request.method,
    remote_address: request.socket.remoteAddress,
  });
  refuseEarly(response, 431, TOO_MANY_HEADERS_BODY);
}
