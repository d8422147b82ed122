import {
  type CanActivate,
  type ExecutionContext,
  type OnApplicationBootstrap,
  ForbiddenException,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  Logger,
  Optional,
  ServiceUnavailableException,
  type Type,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  type FrameworkRequest,
  type FrameworkResponse,
  nodeRequestOf,
  nodeResponseOf,
  requestPathOf,
} from '../http/node-message';
import type { InternalAuthConfig } from '../config/internal-auth.config';
import {
  InternalAuthCheck,
  type InternalAuthDecision,
  type InternalRouteAuth,
} from './internal-auth-check';
import { CallerRateLimit } from './caller-rate-limit';
import {
  INTERNAL_AUTH_CONFIG,
  IS_INTERNAL_ONLY_KEY,
  IS_SCRAPE_ONLY_KEY,
} from './internal-auth.constants';
import { InternalAuthEvents } from './internal-auth-events';
import { INTROSPECTED_KEY } from './introspected.decorator';
import { IS_PUBLIC_KEY } from './public.decorator';
import { SCOPES_KEY } from './scopes.decorator';
import { verifiedCallerOf } from './verified-caller';

// A route handler as Nest hands it to a guard.
type Handler = ReturnType<ExecutionContext['getHandler']>;

/**
 * What the guard knows of a route: open, or what it asks of callers (`scrape`: the read-only
 * scrape credential of `@ScrapeOnly()`).
 */
type RouteRule =
  | { readonly open: true }
  | ({ readonly open: false; readonly scrape: boolean } & InternalRouteAuth);

/**
 * Default-deny guard for internal routes. A `@Public()` route (not `@InternalOnly()`) is open;
 * every other request must prove itself as the mode says (`INTERNAL_AUTH_MODE`, DESIGN
 * section 9):
 * - `token` (the default): exactly one `X-INTERNAL-TOKEN` equal to an accepted token, else
 *   `403 {"error":"Forbidden"}`;
 * - `jwt`: exactly one `Authorization: Bearer <service token>` that verifies for this service
 *   (else `401 {"error":"unauthorized"}`, `WWW-Authenticate: Bearer error="invalid_token"`)
 *   and carries a scope the route declares with `@Scopes()` (else 403 with
 *   `error="insufficient_scope"`; a route without a declaration refuses every caller). The
 *   verified caller is then {@link verifiedCallerOf}(request). No key to check it: 503;
 * - `token+jwt`: both, the shared token first.
 * A `@ScrapeOnly()` route (`GET /metrics`) takes a read-only credential in `Authorization:
 * Bearer` instead: the metrics token (`token`, `token+jwt`) or a service token with the
 * route's scope (`token+jwt`, `jwt`); never `X-INTERNAL-TOKEN`.
 * On an `@Introspected()` route, with `introspection` configured, the issuer must also call the
 * service token active (else 401 as for a bad token; 503 when it cannot say).
 * With `shadow: 'jwt'` in `token` mode, the service token is also checked as in `jwt` mode,
 * and what that would refuse is logged (`internal_auth_shadow_denied`) and reported, not refused.
 *
 * A caller its service token proved then spends one request of its allowance when the app provides a
 * {@link CallerRateLimit} (the chassis's `RateLimitModule`): past it, `429 {"error":"too many
 * requests"}` with `Retry-After` (seconds) and one `internal_rate_limited` log line.
 *
 * Every refusal is one structured `internal_auth_denied` log line (reason, remote address,
 * method, path; never a token), also reported to {@link InternalAuthEvents} when the app
 * provides one (the chassis's `MetricsModule` counts them in `internal_auth_denied_total{reason}`).
 *
 * Registered globally by `InternalAuthModule`, so a new route is protected without anyone
 * remembering to protect it.
 */
@Injectable()
export class InternalTokenGuard implements CanActivate, OnApplicationBootstrap {
  private readonly logger = new Logger(InternalTokenGuard.name);
  private readonly routes = new WeakMap<Type, WeakMap<Handler, RouteRule>>();
  // The decision itself, shared with the Express middleware and the Fastify hook.
  private readonly check: InternalAuthCheck;

  constructor(
    private readonly reflector: Reflector,
    @Inject(INTERNAL_AUTH_CONFIG) config: InternalAuthConfig,
    @Optional() events?: InternalAuthEvents,
    @Optional() private readonly rateLimit?: CallerRateLimit,
  ) {
    this.check = new InternalAuthCheck(config, { events, logger: this.logger });
  }

  /**
   * Starts fetching the issuer's key set as the service starts, not waiting for it (the
   * issuer may start after this service): see {@link JwtVerifier.prefetchKeys}.
   */
  onApplicationBootstrap(): void {
    void this.check.prefetchKeys();
  }

  // Synchronous in `token` mode, and for a service token verified before, unless a rate limit
  // is counted: no promise for Nest to await.
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const route = this.ruleOf(context.getClass(), context.getHandler());
    if (route.open) return true;
    const request = nodeRequestOf(context.switchToHttp().getRequest<FrameworkRequest>());
    const decision = route.scrape
      ? this.check.checkScrape(request, route)
      : this.check.check(request, route);
    if (decision instanceof Promise) {
      return decision.then(
        (settled) => this.enforce(context, settled) && this.limit(context, route.scrape),
      );
    }
    return this.enforce(context, decision) && this.limit(context, route.scrape);
  }

  // Only a verified caller is counted (none in `token` mode), and never a scrape: the metrics
  // token names no client, and Prometheus scrapes at its own fixed pace.
  private limit(context: ExecutionContext, scrape: boolean): true | Promise<true> {
    if (this.rateLimit === undefined || scrape) return true;
    const request = nodeRequestOf(context.switchToHttp().getRequest<FrameworkRequest>());
    const client = verifiedCallerOf(request)?.name;
    if (client === undefined) return true;
    return this.rateLimit.admit(client).then((waitMs) => {
      if (waitMs <= 0) return true;
      this.logger.warn({
        event: 'internal_rate_limited',
        client,
        method: request.method,
        path: requestPathOf(request),
      });
      nodeResponseOf(context.switchToHttp().getResponse<FrameworkResponse>()).setHeader(
        'Retry-After',
        String(Math.ceil(waitMs / 1000)),
      );
      throw new HttpException({ error: 'too many requests' }, HttpStatus.TOO_MANY_REQUESTS);
    });
  }

  private enforce(context: ExecutionContext, decision: InternalAuthDecision): true {
    if (decision.kind === 'allowed') return true;
    if (decision.wwwAuthenticate !== undefined) {
      const response = nodeResponseOf(context.switchToHttp().getResponse<FrameworkResponse>());
      response.setHeader('WWW-Authenticate', decision.wwwAuthenticate);
    }
    switch (decision.status) {
      case 401:
        throw new UnauthorizedException(decision.body);
      case 403:
        throw new ForbiddenException(decision.body);
      case 503:
        throw new ServiceUnavailableException(decision.body);
    }
  }

  /**
   * What a route asks: nothing when `@Public()` and not `@InternalOnly()`, else its
   * `@Scopes()` and `@Introspected()`. Decorators are fixed once the app is built, so the
   * answer is remembered per class and handler (a handler inherited by two controllers may be
   * judged differently in each).
   */
  private ruleOf(controller: Type, handler: Handler): RouteRule {
    let handlers = this.routes.get(controller);
    if (handlers === undefined) {
      handlers = new WeakMap();
      this.routes.set(controller, handlers);
    }
    let rule = handlers.get(handler);
    if (rule === undefined) {
      const targets = [handler, controller];
      const read = <T>(key: string) =>
        this.reflector.getAllAndOverride<T | undefined>(key, targets);
      const open =
        read<boolean>(IS_PUBLIC_KEY) === true && read<boolean>(IS_INTERNAL_ONLY_KEY) !== true;
      rule = open
        ? { open: true }
        : {
            open: false,
            scrape: read<boolean>(IS_SCRAPE_ONLY_KEY) === true,
            scopes: read<string[]>(SCOPES_KEY),
            introspected: read<boolean>(INTROSPECTED_KEY) === true,
          };
      handlers.set(handler, rule);
    }
    return rule;
  }
}
