import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * What Nest hands a guard, interceptor or filter as the request: Express's request (which is
 * Node's `IncomingMessage` itself) or Fastify's (which wraps it in `raw`).
 */
export type FrameworkRequest = IncomingMessage | { readonly raw: IncomingMessage };

/** What Nest hands as the response: Express's (Node's `ServerResponse`) or Fastify's reply (`raw`). */
export type FrameworkResponse = ServerResponse | { readonly raw: ServerResponse };

/**
 * Node's request under whatever the HTTP adapter made of it. The kit and the chassis read
 * headers, the body stream and per-request records from it, so one code path serves Express
 * and Fastify, and the logger (which only sees Node's objects) finds what the guard recorded.
 */
export function nodeRequestOf(request: FrameworkRequest): IncomingMessage {
  return 'raw' in request ? request.raw : request;
}

/** Node's response under whatever the HTTP adapter made of it (see {@link nodeRequestOf}). */
export function nodeResponseOf(response: FrameworkResponse): ServerResponse {
  return 'raw' in response ? response.raw : response;
}

/**
 * The URL the client asked for (path and query, still percent-encoded). Express and Fastify's
 * middleware layer rewrite `url` in a mounted router; `originalUrl` keeps what the client sent.
 */
export function requestUrlOf(request: IncomingMessage): string {
  return (request as { originalUrl?: string }).originalUrl ?? request.url ?? '';
}

/**
 * The path the client asked for, without the query string. Express and Fastify's middleware
 * layer rewrite `url` in a mounted router; `originalUrl` keeps what the client sent.
 */
export function requestPathOf(request: IncomingMessage): string {
  const url = requestUrlOf(request);
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
