import type { NextFunction, RequestHandler, Response } from 'express';
import type { InternalAuthConfig } from '../config/internal-auth.config';
import { readActingUser } from '../auth/acting-user';
import {
  InternalAuthCheck,
  type InternalAuthCheckOptions,
  type InternalAuthDecision,
} from '../auth/internal-auth-check';
import type { InternalRouteOptions } from '../auth/internal-route.options';
import type { ServiceCaller } from '../tokens/service-token';

declare global {
  // Express's own way to type what a middleware adds to the request.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /**
       * Set by the kit's route middleware: the calling service its verified token names
       * (`INTERNAL_AUTH_MODE` `token+jwt` or `jwt`), undefined in `token` mode.
       */
      internalCaller?: ServiceCaller;
      /** Set by the kit's route middleware with `actingUser`: the validated `X-User-ID`. */
      actingUserId?: string;
    }
  }
}

/** What {@link internalAuthMiddleware} needs. */
export interface InternalAuthMiddlewareOptions extends InternalAuthCheckOptions {
  /** The internal credential and mode, e.g. from `loadInternalAuthConfig(env, { serviceName })`. */
  readonly config: InternalAuthConfig;
}

/**
 * The kit's check as Express middleware. Each route starts with a declaration:
 * {@link InternalAuthMiddleware.route} (or `requireScopes`), or `public()`;
 * `assertEveryRouteDeclared(app)` stops an app at boot where one does not. `app.use()` of the
 * middleware itself checks the credential of every request that reaches it, before routing.
 */
export interface InternalAuthMiddleware extends RequestHandler {
  /**
   * The route's part of the check: its scopes (a service token without one of them: 403
   * `insufficient_scope`; with service identity, a route that declares none refuses every
   * caller), introspection, the acting user. Then `req.internalCaller` is the verified caller.
   * Checks the credential too when the global middleware did not run.
   */
  route(options: InternalRouteOptions): RequestHandler;
  /** `route({ scopes })`: e.g. `requireScopes('billing:charge')`. */
  requireScopes(...scopes: [string, ...string[]]): RequestHandler;
  /**
   * Declares a route open to callers without a credential (health checks): it checks nothing,
   * and says that openness is intended. Register such routes before `app.use()` of the
   * middleware, which would refuse them.
   */
  public(): RequestHandler;
  /**
   * @throws Error naming every route of `app` (Express 5) whose first handler is neither
   *   `route()` / `requireScopes()` nor `public()`: with one, a handler would run unchecked
   *   or before the check. Call it once all routes are registered.
   */
  assertEveryRouteDeclared(app: { readonly router: unknown }): void;
  /** Fetches the issuer's key set now (call it as the app starts); never throws. */
  prefetchKeys(): Promise<void>;
}

/**
 * The NestJS guard's check (`InternalAuthCheck`: same statuses, bodies, `WWW-Authenticate`,
 * log lines and events) for a plain Express app:
 *
 * ```ts
 * const internalAuth = internalAuthMiddleware({ config: loadInternalAuthConfig(env, { serviceName: 'billing-server' }) });
 * app.get('/health', internalAuth.public(), health); // before the middleware: open
 * app.use(internalAuth); // every later route: no credential, no entry
 * app.post('/deduct', internalAuth.requireScopes('billing:charge'), deduct);
 * internalAuth.assertEveryRouteDeclared(app); // a route without a declaration stops the app
 * ```
 *
 * The global middleware checks the credential of every request that reaches it (default
 * deny); each route then says which scopes it accepts. Imports nothing of Express at run time.
 */
export function internalAuthMiddleware(
  options: InternalAuthMiddlewareOptions,
): InternalAuthMiddleware {
  const check = new InternalAuthCheck(options.config, options);
  const authenticate: RequestHandler = (req, res, next) => {
    settle(check.authenticate(req), res, next, () => next());
  };
  const route = (routeOptions: InternalRouteOptions): RequestHandler => {
    const { actingUser } = routeOptions;
    return (req, res, next) => {
      settle(check.authorize(req, routeOptions), res, next, (caller) => {
        req.internalCaller = caller;
        if (actingUser !== undefined) {
          const user = readActingUser(req, actingUser === true ? undefined : actingUser);
          if (user.kind === 'refused') {
            res.status(user.status).json(user.body);
            return;
          }
          req.actingUserId = user.userId;
        }
        next();
      });
    };
  };
  return Object.assign(authenticate, {
    route: (routeOptions: InternalRouteOptions) => declaration(route(routeOptions)),
    requireScopes: (...scopes: [string, ...string[]]) => declaration(route({ scopes })),
    public: () => declaration((_req, _res, next) => next()),
    assertEveryRouteDeclared,
    prefetchKeys: () => check.prefetchKeys(),
  });
}

// Marks the handlers that declare what a route asks, for `assertEveryRouteDeclared`.
const DECLARATION = Symbol('internalAuthDeclaration');

function declaration(handler: RequestHandler): RequestHandler {
  return Object.assign(handler, { [DECLARATION]: true });
}

/** Express 5's router, as far as the walk below reads it. */
interface RouterLayer {
  readonly route?: {
    readonly path: string;
    readonly methods: Record<string, boolean>;
    readonly stack: readonly { readonly handle: unknown }[];
  };
  readonly handle?: { readonly stack?: readonly RouterLayer[] };
}

function assertEveryRouteDeclared(app: { readonly router: unknown }): void {
  const undeclared: string[] = [];
  const walk = (stack: readonly RouterLayer[]): void => {
    for (const layer of stack) {
      if (layer.route) {
        const first = layer.route.stack[0]?.handle as Partial<Record<symbol, true>> | undefined;
        if (first?.[DECLARATION] !== true) {
          const methods = Object.keys(layer.route.methods).map((m) => m.toUpperCase());
          undeclared.push(`${methods.join(',')} ${layer.route.path}`);
        }
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((app.router as { stack: RouterLayer[] }).stack);
  if (undeclared.length > 0) {
    throw new Error(
      `routes without an internal-auth declaration (route(), requireScopes() or public()): ${undeclared.join('; ')}`,
    );
  }
}

/** Answers a refusal, or goes on with the allowed caller; synchronously when it can. */
function settle(
  decision: InternalAuthDecision | Promise<InternalAuthDecision>,
  res: Response,
  next: NextFunction,
  allowed: (caller: ServiceCaller | undefined) => void,
): void {
  const apply = (settled: InternalAuthDecision): void => {
    if (settled.kind === 'allowed') {
      allowed(settled.caller);
      return;
    }
    if (settled.wwwAuthenticate !== undefined) {
      res.setHeader('WWW-Authenticate', settled.wwwAuthenticate);
    }
    res.status(settled.status).json(settled.body);
  };
  if (decision instanceof Promise) void decision.then(apply, next);
  else apply(decision);
}
