import { HttpException } from '@nestjs/common';
import type { InternalResponse } from '@zt/service-chassis';
import { UnexpectedUpstreamAnswerError } from './unexpected-upstream-answer.error';

// Answers of the filesystem server that are about the client's request, and so are passed
// on to the client. Anything else (401/403 above all: the backend's own credential refused)
// is the backend's problem.
const RELAYED_STATUSES: ReadonlySet<number> = new Set([400, 404, 409, 413, 415, 422, 429]);

const DEFAULT_MESSAGES: Readonly<Record<number, string>> = {
  400: 'invalid request',
  404: 'not found',
  409: 'conflict',
  413: 'payload too large',
  415: 'unsupported media type',
  422: 'unprocessable request',
  429: 'too many requests',
};

/**
 * The error to throw for an upstream's answer that is not a success: the same status and
 * `{"error": <the upstream's message>}` for a status about the client's request (400, 404,
 * 409, 413, 415, 422, 429), an {@link UnexpectedUpstreamAnswerError} (500) otherwise. Only the
 * upstream's `error` text is passed on, nothing else of its body.
 */
export function relayUpstreamError(
  upstream: string,
  call: string,
  response: InternalResponse<unknown>,
): Error {
  if (!RELAYED_STATUSES.has(response.status)) {
    return new UnexpectedUpstreamAnswerError(upstream, call, response.status);
  }
  const message = errorMessage(response) ?? DEFAULT_MESSAGES[response.status];
  return new HttpException({ error: message }, response.status);
}

function errorMessage(response: InternalResponse<unknown>): string | undefined {
  let body = response.data;
  if (Buffer.isBuffer(body)) {
    if (!/^application\/json\b/i.test(response.headers['content-type'] ?? '')) return undefined;
    try {
      body = JSON.parse(body.toString('utf8')) as unknown;
    } catch {
      return undefined;
    }
  }
  const error = (body as { error?: unknown } | undefined)?.error;
  return typeof error === 'string' && error.length > 0 && error.length <= 1024 ? error : undefined;
}
