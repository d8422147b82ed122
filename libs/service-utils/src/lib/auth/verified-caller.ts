import type { IncomingMessage } from 'node:http';
import { type FrameworkRequest, nodeRequestOf } from '../http/node-message';
import type { ServiceCaller } from '../tokens/service-token';

// Kept beside the request rather than on it, so nothing a client sends can fill it; keyed by
// Node's request, which Express and Fastify (`raw`) share with the logger.
const callers = new WeakMap<IncomingMessage, ServiceCaller>();

/** Records the calling service the guard verified for `request`. */
export function setVerifiedCaller(request: FrameworkRequest, caller: ServiceCaller): void {
  callers.set(nodeRequestOf(request), caller);
}

/**
 * The calling service the guard verified from its service token, if the request carried one
 * (`INTERNAL_AUTH_MODE` `token+jwt` or `jwt`). Unlike `X-Caller-Service`, it is proven.
 */
export function verifiedCallerOf(request: FrameworkRequest): ServiceCaller | undefined {
  return callers.get(nodeRequestOf(request));
}
