import type { IncomingMessage } from 'node:http';
import type { ServiceCaller } from '../tokens/service-token';

// Kept beside the request rather than on it, so nothing a client sends can fill it.
const callers = new WeakMap<IncomingMessage, ServiceCaller>();

/** Records the calling service the guard verified for `request`. */
export function setVerifiedCaller(request: IncomingMessage, caller: ServiceCaller): void {
  callers.set(request, caller);
}

/**
 * The calling service the guard verified from its service token, if the request carried one
 * (`INTERNAL_AUTH_MODE` `token+jwt` or `jwt`). Unlike `X-Caller-Service`, it is proven.
 */
export function verifiedCallerOf(request: IncomingMessage): ServiceCaller | undefined {
  return callers.get(request);
}
