import {
  type CanActivate,
  type ExecutionContext,
  type OnApplicationBootstrap,
  ForbiddenException,
  Inject,
  Injectable,
  Logger,
  Optional,
  ServiceUnavailableException,
  type Type,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import type { ServerResponse } from 'node:http';
import type { InternalAuthConfig, InternalAuthMode } from '../config/internal-auth.config';
import { readSingleHeader } from '../http/single-header';
import type { JwtVerifier } from '../tokens/jwt-verifier';
import { createServiceTokenVerifier, type ServiceCaller } from '../tokens/service-token';
import { KeySetUnavailableError, TokenRejectedError } from '../tokens/token-errors';
import { IntrospectionUnavailableError } from '../tokens/introspection-unavailable.error';
import { TokenIntrospector } from '../tokens/token-introspector';
import {
  INTERNAL_AUTH_CONFIG,
  INTERNAL_TOKEN_HEADER,
  IS_INTERNAL_ONLY_KEY,
  IS_SCRAPE_ONLY_KEY,
} from './internal-auth.constants';
import type { InternalAuthDeniedReason } from './internal-auth-denied.reason';
import { InternalAuthEvents } from './internal-auth-events';
import { INTROSPECTED_KEY } from './introspected.decorator';
import { IS_PUBLIC_KEY } from './public.decorator';
import { SCOPES_KEY } from './scopes.decorator';
import { TokenMatcher } from './token-matcher';
import { setVerifiedCaller } from './verified-caller';

// A route handler as Nest hands it to a guard.
type Handler = ReturnType<ExecutionContext['getHandler']>;

/** The body of every 403, whatever was wrong: the reason goes to the log only. */
export const FORBIDDEN_BODY = { error: 'Forbidden' } as const;
/** The body of every 401 (a missing or bad service token). */
export const UNAUTHORIZED_BODY = { error: 'unauthorized' } as const;

// `Authorization: Bearer <compact JWS>` (the scheme is case-insensitive, RFC 7235).
const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i;
// `Authorization: Bearer <b64token>` (RFC 6750 section 2.1): the metrics token's form.
const OPAQUE_BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i;

/** How a route is guarded: open, the scrape credential (`@ScrapeOnly()`), or the mode's check. */
type RouteKind = 'open' | 'scrape' | 'internal';

/** What the service-token check decided. */
type ServiceTokenCheck =
  | { readonly kind: 'allowed'; readonly caller: ServiceCaller; readonly token: string }
  | {
      readonly kind: 'refused';
      readonly reason: InternalAuthDeniedReason;
      readonly detail?: string;
    };

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
 * On an `@Introspected()` route, with `introspection` configured, the issuer must also call the
 * service token active (else 401 as for a bad token; 503 when it cannot say).
 * A `@ScrapeOnly()` route (`GET /metrics`) takes `Authorization: Bearer` only, never
 * `X-INTERNAL-TOKEN`: the metrics token (`metricsToken`) in `token` mode, the metrics token or
 * a service token with the route's scope in `token+jwt` mode, the service token in `jwt` mode;
 * else 401 as for a bad service token.
 * With `shadow: 'jwt'` in `token` mode, the service token is also checked as in `jwt` mode,
 * and what that would refuse is logged (`internal_auth_shadow_denied`) and reported, not refused.
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
  // None in `jwt` mode, which takes no shared token.
  private readonly matcher: TokenMatcher | undefined;
  // The metrics token of `@ScrapeOnly()` routes; none in `jwt` mode or when not configured.
  private readonly metricsMatcher: TokenMatcher | undefined;
  private readonly routeKinds = new WeakMap<Type, WeakMap<Handler, RouteKind>>();
  private readonly mode: InternalAuthMode;
  private readonly shadow: boolean;
  private readonly serviceTokens: JwtVerifier<ServiceCaller> | undefined;
  private readonly introspector: TokenIntrospector | undefined;

  constructor(
    private readonly reflector: Reflector,
    @Inject(INTERNAL_AUTH_CONFIG) config: InternalAuthConfig,
    @Optional() private readonly events?: InternalAuthEvents,
  ) {
    this.mode = config.mode ?? 'token';
    this.matcher = this.mode === 'jwt' ? undefined : new TokenMatcher(config.acceptedTokens);
    this.metricsMatcher =
      this.mode !== 'jwt' && config.metricsToken
        ? new TokenMatcher([config.metricsToken])
        : undefined;
    this.shadow = config.shadow === 'jwt';
    if ((this.mode !== 'token' || this.shadow) && !config.serviceTokens) {
      throw new TypeError(`InternalTokenGuard: mode ${this.mode} needs serviceTokens settings`);
    }
    this.serviceTokens = config.serviceTokens && createServiceTokenVerifier(config.serviceTokens);
    this.introspector = config.introspection && new TokenIntrospector(config.introspection);
  }

  /**
   * Starts fetching the issuer's key set as the service starts, not waiting for it (the
   * issuer may start after this service): see {@link JwtVerifier.prefetchKeys}.
   */
  onApplicationBootstrap(): void {
    void this.serviceTokens?.prefetchKeys();
  }

  // Synchronous in `token` mode: the shared-token check needs no await.
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const kind = this.routeKind(context.getClass(), context.getHandler());
    if (kind === 'open') return true;

    const request = context.switchToHttp().getRequest<Request>();
    if (kind === 'scrape') return this.requireScrapeCredential(context, request);
    if (this.mode !== 'jwt') {
      const reason = this.findDenialReason(request);
      if (reason !== undefined) {
        this.logDenied(request, reason);
        throw new ForbiddenException(FORBIDDEN_BODY);
      }
      if (this.mode === 'token') {
        return this.shadow ? this.rehearseServiceToken(context, request) : true;
      }
    }
    return this.requireServiceToken(context, request);
  }

  /**
   * A `@ScrapeOnly()` route: the metrics token (modes `token`, `token+jwt`) or a service token
   * (`token+jwt`, `jwt`) in `Authorization: Bearer`. `X-INTERNAL-TOKEN` is not read at all.
   */
  private requireScrapeCredential(
    context: ExecutionContext,
    request: Request,
  ): true | Promise<true> {
    if (this.mode === 'jwt') return this.requireServiceToken(context, request);
    const reason = this.findMetricsTokenDenial(request);
    if (reason === undefined) return true;
    // token+jwt: a bearer that is not the metrics token may be the scraper's service token.
    if (this.mode === 'token+jwt') return this.requireServiceToken(context, request);
    this.logDenied(request, reason);
    const response = context.switchToHttp().getResponse<ServerResponse>();
    response.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
    throw new UnauthorizedException(UNAUTHORIZED_BODY);
  }

  private findMetricsTokenDenial(request: Request): InternalAuthDeniedReason | undefined {
    const header = readSingleHeader(request, 'Authorization');
    switch (header.kind) {
      case 'absent':
        return 'bearer_missing';
      case 'repeated':
        return 'bearer_repeated';
      case 'single': {
        const token = OPAQUE_BEARER.exec(header.value)?.[1];
        if (token === undefined) return 'bearer_malformed';
        if (this.metricsMatcher === undefined) return 'metrics_token_unset';
        return this.metricsMatcher.matches(token) ? undefined : 'metrics_token_mismatch';
      }
    }
  }

  // Synchronous for a token verified before (the common case: a caller reuses its token for
  // minutes), unless the route introspects: no promise for Nest to await.
  private requireServiceToken(context: ExecutionContext, request: Request): true | Promise<true> {
    const bearer = this.readBearer(request);
    if (bearer.kind === 'token' && !(this.introspector && this.isIntrospected(context))) {
      const caller = this.serviceTokenVerifier().verifiedBefore(bearer.token);
      const check = caller && this.checkScopes(context, caller, bearer.token);
      if (check?.kind === 'allowed') {
        setVerifiedCaller(request, check.caller);
        return true;
      }
    }
    return this.requireServiceTokenAsync(context, request);
  }

  private async requireServiceTokenAsync(
    context: ExecutionContext,
    request: Request,
  ): Promise<true> {
    let check = await this.checkServiceToken(context, request);
    if (check.kind === 'allowed' && this.introspector && this.isIntrospected(context)) {
      check = await this.introspect(this.introspector, check);
    }
    if (check.kind === 'allowed') {
      setVerifiedCaller(request, check.caller);
      return true;
    }
    this.logDenied(request, check.reason, check.detail);
    const response = context.switchToHttp().getResponse<ServerResponse>();
    if (check.reason === 'insufficient_scope' || check.reason === 'no_scopes_declared') {
      response.setHeader('WWW-Authenticate', 'Bearer error="insufficient_scope"');
      throw new ForbiddenException(FORBIDDEN_BODY);
    }
    // The token may be valid: without the issuer's keys, or its answer, it can be neither
    // accepted nor refused.
    if (check.reason === 'keys_unavailable' || check.reason === 'introspection_unavailable') {
      throw new ServiceUnavailableException({ error: 'auth unavailable' });
    }
    response.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
    throw new UnauthorizedException(UNAUTHORIZED_BODY);
  }

  /** A verified token on an `@Introspected()` route: still allowed only if the issuer says active. */
  private async introspect(
    introspector: TokenIntrospector,
    check: Extract<ServiceTokenCheck, { kind: 'allowed' }>,
  ): Promise<ServiceTokenCheck> {
    try {
      if (await introspector.isActive(check.token)) return check;
      return { kind: 'refused', reason: 'token_inactive', detail: check.caller.name };
    } catch (error) {
      if (error instanceof IntrospectionUnavailableError) {
        return { kind: 'refused', reason: 'introspection_unavailable', detail: error.reason };
      }
      throw error;
    }
  }

  private isIntrospected(context: ExecutionContext): boolean {
    return (
      this.reflector.getAllAndOverride<boolean | undefined>(INTROSPECTED_KEY, [
        context.getHandler(),
        context.getClass(),
      ]) === true
    );
  }

  /** `INTERNAL_AUTH_SHADOW=jwt`: what `jwt` mode would refuse is logged and reported only. */
  private async rehearseServiceToken(context: ExecutionContext, request: Request): Promise<true> {
    const check = await this.checkServiceToken(context, request);
    if (check.kind === 'refused') {
      this.logger.warn({
        event: 'internal_auth_shadow_denied',
        reason: check.reason,
        ...(check.detail === undefined ? {} : { detail: check.detail }),
        method: request.method,
        path: request.path,
      });
      this.events?.shadowDenied?.(check.reason);
    }
    return true;
  }

  /** The service token of `Authorization: Bearer`, or why there is none to check. */
  private readBearer(
    request: Request,
  ):
    | { readonly kind: 'token'; readonly token: string }
    | Extract<ServiceTokenCheck, { kind: 'refused' }> {
    const header = readSingleHeader(request, 'Authorization');
    if (header.kind === 'absent') return { kind: 'refused', reason: 'bearer_missing' };
    if (header.kind === 'repeated') return { kind: 'refused', reason: 'bearer_repeated' };
    const token = BEARER.exec(header.value)?.[1];
    if (token === undefined) return { kind: 'refused', reason: 'bearer_malformed' };
    return { kind: 'token', token };
  }

  // Set whenever the mode or the shadow needs it (checked in the constructor).
  private serviceTokenVerifier(): JwtVerifier<ServiceCaller> {
    return this.serviceTokens as JwtVerifier<ServiceCaller>;
  }

  private async checkServiceToken(
    context: ExecutionContext,
    request: Request,
  ): Promise<ServiceTokenCheck> {
    const bearer = this.readBearer(request);
    if (bearer.kind !== 'token') return bearer;
    const { token } = bearer;
    let caller: ServiceCaller;
    try {
      caller = await this.serviceTokenVerifier().verify(token);
    } catch (error) {
      if (error instanceof TokenRejectedError) {
        return { kind: 'refused', reason: 'token_rejected', detail: error.reason };
      }
      if (error instanceof KeySetUnavailableError) {
        return { kind: 'refused', reason: 'keys_unavailable', detail: error.reason };
      }
      throw error;
    }
    return this.checkScopes(context, caller, token);
  }

  /** Whether the verified `caller` holds one of the scopes the route accepts. */
  private checkScopes(
    context: ExecutionContext,
    caller: ServiceCaller,
    token: string,
  ): ServiceTokenCheck {
    const accepted = this.reflector.getAllAndOverride<string[] | undefined>(SCOPES_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (accepted === undefined) {
      return { kind: 'refused', reason: 'no_scopes_declared', detail: caller.name };
    }
    if (!accepted.some((scope) => caller.scopes.has(scope))) {
      return { kind: 'refused', reason: 'insufficient_scope', detail: caller.name };
    }
    return { kind: 'allowed', caller, token };
  }

  private logDenied(request: Request, reason: InternalAuthDeniedReason, detail?: string): void {
    this.logger.warn({
      event: 'internal_auth_denied',
      reason,
      ...(detail === undefined ? {} : { detail }),
      remote_address: request.socket.remoteAddress,
      method: request.method,
      // The path only: a query string may carry a misplaced credential.
      path: request.path,
    });
    this.events?.denied(reason);
  }

  /**
   * How a route is guarded: open without a token when `@Public()` and not `@InternalOnly()`;
   * the scrape credential when `@ScrapeOnly()`. Decorators are fixed once the app is built, so
   * the answer is remembered per class and handler (a handler inherited by two controllers may
   * be judged differently in each).
   */
  private routeKind(controller: Type, handler: Handler): RouteKind {
    let handlers = this.routeKinds.get(controller);
    if (handlers === undefined) {
      handlers = new WeakMap();
      this.routeKinds.set(controller, handlers);
    }
    let kind = handlers.get(handler);
    if (kind === undefined) {
      const targets = [handler, controller];
      const isPublic = this.reflector.getAllAndOverride<boolean | undefined>(
        IS_PUBLIC_KEY,
        targets,
      );
      const isInternalOnly = this.reflector.getAllAndOverride<boolean | undefined>(
        IS_INTERNAL_ONLY_KEY,
        targets,
      );
      const isScrapeOnly = this.reflector.getAllAndOverride<boolean | undefined>(
        IS_SCRAPE_ONLY_KEY,
        targets,
      );
      if (isScrapeOnly === true) kind = 'scrape';
      else kind = isPublic === true && isInternalOnly !== true ? 'open' : 'internal';
      handlers.set(handler, kind);
    }
    return kind;
  }

  private findDenialReason(request: Request): InternalAuthDeniedReason | undefined {
    const header = readSingleHeader(request, INTERNAL_TOKEN_HEADER);
    switch (header.kind) {
      case 'absent':
        return 'missing';
      case 'repeated':
        return 'repeated';
      case 'single':
        if (header.value === '') return 'empty';
        if (header.value.includes(',')) return 'comma_joined';
        return this.matcher?.matches(header.value) ? undefined : 'mismatch';
    }
  }
}
