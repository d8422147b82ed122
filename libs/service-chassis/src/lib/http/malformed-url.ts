import { Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { refuseEarly } from './early-refusal';

/** The body of the answer to a path with a malformed percent-encoding. */
export const MALFORMED_URL_BODY = { error: 'malformed percent-encoding in the URL' } as const;

const logger = new Logger('MalformedUrl');

/**
 * Whether the path of `request` has a malformed percent-encoding (`%zz`, a truncated escape,
 * bytes that are not UTF-8). The query string is not judged.
 */
export function isMalformedUrl(request: IncomingMessage): boolean {
  const url = request.url ?? '';
  const queryStart = url.indexOf('?');
  const path = queryStart === -1 ? url : url.slice(0, queryStart);
  return path.includes('%') && !isDecodable(path);
}

/**
 * Answers a request whose path is malformed (see {@link isMalformedUrl}) with
 * `400 {"error":"malformed percent-encoding in the URL"}` and one `malformed_url` log line.
 *
 * Why before routing (the HTTP adapter, `createHttpAdapter`, calls it first): Express decodes
 * every route parameter, and the platform's own middleware is mounted on a catch-all
 * parameter, so such a path used to fail while it was routed, before the request id, the
 * request log and the guard, with an error that echoed the path back (Fastify's router
 * answers such a path itself, also echoing it). Refused here, every such request gets the
 * same fixed answer whatever its path and credentials, as an unparsable HTTP request would.
 */
export function refuseMalformedUrl(request: IncomingMessage, response: ServerResponse): void {
  // The path is left out: it may be anything, including a misplaced credential.
  logger.warn({
    event: 'malformed_url',
    method: request.method,
    remote_address: request.socket.remoteAddress,
  });
  refuseEarly(response, 400, MALFORMED_URL_BODY);
}

function isDecodable(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}
