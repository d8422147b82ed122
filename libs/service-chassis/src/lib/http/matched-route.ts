import { RequestMethod } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';

/**
 * The routes that the platform's own middleware (request context, logging, metrics) applies
 * to: every path and method. Express records this catch-all as `req.route` while the
 * middleware runs, which {@link matchedRoute} tells apart from a real route.
 */
export const ALL_ROUTES = { path: '{*splat}', method: RequestMethod.ALL } as const;

const CATCH_ALL_PATH = `/${ALL_ROUTES.path}`;

// Fastify knows the route on its own request object only; the middleware, the request log
// and the metrics see Node's request, so the HTTP adapter records it here as routing ends.
const fastifyRoutes = new WeakMap<IncomingMessage, string>();

/** Records the route pattern Fastify matched for `request` (`createHttpAdapter` does). */
export function recordRoute(request: IncomingMessage, route: string | undefined): void {
  if (route !== undefined) fastifyRoutes.set(request, route);
}

/**
 * The route pattern that served `request` (e.g. `/balance/:user_id`), or `undefined` when no
 * route of the application matched it (an unknown path). Express's `req.route.path` or what
 * Fastify matched: the two write a wildcard differently (`/files/*path` and `/files/*`).
 */
export function matchedRoute(request: IncomingMessage): string | undefined {
  const fastify = fastifyRoutes.get(request);
  if (fastify !== undefined) return fastify;
  const path = (request as IncomingMessage & { route?: { path?: unknown } }).route?.path;
  return typeof path === 'string' && path !== CATCH_ALL_PATH ? path : undefined;
}
