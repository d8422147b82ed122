import { RequestMethod } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';

/**
 * The routes that the platform's own middleware (request context, logging, metrics) applies
 * to: every path and method. Express records this catch-all as `req.route` while the
 * middleware runs, which {@link matchedRoute} tells apart from a real route.
 */
export const ALL_ROUTES = { path: '{*splat}', method: RequestMethod.ALL } as const;

const CATCH_ALL_PATH = `/${ALL_ROUTES.path}`;

/**
 * The route pattern that served `request` (Express's `req.route.path`, e.g. `/balance/:user_id`),
 * or `undefined` when no route of the application matched it (an unknown path).
 */
export function matchedRoute(request: IncomingMessage): string | undefined {
  const path = (request as IncomingMessage & { route?: { path?: unknown } }).route?.path;
  return typeof path === 'string' && path !== CATCH_ALL_PATH ? path : undefined;
}
