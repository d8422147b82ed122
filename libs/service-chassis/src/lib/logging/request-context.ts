import { Store, storage } from 'nestjs-pino/storage';
import { REQUEST_ID_KEY } from './request-id';

/**
 * What the service knows about the request it is working for, wherever it is in the code.
 * It lives in nestjs-pino's per-request store, whose logger pino-http bound to the request's
 * id: one AsyncLocalStorage per request, not two (docs/decisions.md).
 */
export interface RequestContext {
  /** The request's id (see `resolveRequestId`), sent on every internal call made for it. */
  readonly requestId: string;
}

// A store opened by `runWithRequestId`, outside of an HTTP request.
type ContextStore = Store & { requestId?: string };

/**
 * The id of the request being served, or `undefined` outside of a request (start-up, timers).
 * `InternalHttpClient` sends it as `X-Request-ID` on every call, so one user action can be
 * followed through the logs of every service it reached. Read from the request's logger,
 * which pino-http bound to it (`request_id`): a few times per request at most (each internal
 * call, an unexpected error), never on the hot path of every request.
 */
export function currentRequestId(): string | undefined {
  const store = storage.getStore() as ContextStore | undefined;
  if (store === undefined) return undefined;
  if (store.requestId !== undefined) return store.requestId;
  const id: unknown = store.logger?.bindings()[REQUEST_ID_KEY];
  return typeof id === 'string' ? id : undefined;
}

/**
 * Runs `callback` (and everything it starts) as part of the request whose id is `requestId`,
 * outside of an HTTP request (a job, a test); its lines are logged by the root logger.
 */
export function runWithRequestId<T>(requestId: string, callback: () => T): T {
  // nestjs-pino falls back to its root logger when the store holds none.
  const store: ContextStore = Object.assign(new Store(undefined as never), { requestId });
  return storage.run(store, callback);
}
