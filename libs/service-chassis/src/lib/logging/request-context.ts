import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolveRequestId } from './request-id';

/** What the service knows about the request it is working for, wherever it is in the code. */
export interface RequestContext {
  /** The request's id (see `resolveRequestId`), sent on every internal call made for it. */
  readonly requestId: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/**
 * The id of the request being served, or `undefined` outside of a request (start-up, timers).
 * `InternalHttpClient` sends it as `X-Request-ID` on every call, so one user action can be
 * followed through the logs of every service it reached.
 */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

/** Runs `callback` (and everything it starts) as part of the request whose id is `requestId`. */
export function runWithRequestId<T>(requestId: string, callback: () => T): T {
  return storage.run({ requestId }, callback);
}

/**
 * Express-style middleware that opens the request context: everything the request runs
 * (guards, handlers, internal calls) sees its id through {@link currentRequestId}.
 * `LoggingModule` applies it to every route.
 */
export function requestContextMiddleware(
  request: IncomingMessage,
  response: ServerResponse,
  next: () => void,
): void {
  runWithRequestId(resolveRequestId(request, response), next);
}
