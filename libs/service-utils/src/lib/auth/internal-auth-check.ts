import { Logger } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { InternalAuthConfig, InternalAuthMode } from '../config/internal-auth.config';
import { requestPathOf } from '../http/node-message';
import { readSingleHeader } from '../http/single-header';
import type { JwtVerifier } from '../tokens/jwt-verifier';
import { createServiceTokenVerifier, type ServiceCaller } from '../tokens/service-token';
import { KeySetUnavailableError, TokenRejectedError } from '../tokens/token-errors';
import { IntrospectionUnavailableError } from '../tokens/introspection-unavailable.error';
import { TokenIntrospector } from '../tokens/token-introspector';
import { INTERNAL_TOKEN_HEADER } from './internal-auth.constants';
import type { InternalAuthDeniedReason } from './internal-auth-denied.reason';
import type { InternalAuthEvents } from './internal-auth-events';
import { TokenMatcher } from './token-matcher';
import { setVerifiedCaller } from './verified-caller';

/** The body of every 403, whatever was wrong: the reason goes to the log only. */
export const FORBIDDEN_BODY = { error: 'Forbidden' } as const;
/** The body of every 401 (a missing or bad service token). */
export const UNAUTHORIZED_BODY = { error: 'unauthorized' } as const;
/** The body of a 503: the issuer's keys, or its introspection answer, could not be had. */
export const AUTH_UNAVAILABLE_BODY = { error: 'auth unavailable' } as const;

/** What a route asks of its callers, however the framework declares it. */
export interface InternalRouteAuth {
  /**
   * The scopes a service token must carry (at least one). With service identity, a route
   * without them refuses every service token (`no_scopes_declared`).
   */
  readonly scopes?: readonly string[];
  /** The caller's token must also be active at the issuer (with introspection configured). */
  readonly introspected?: boolean;
}

/** What {@link InternalAuthCheck} decided about one request. */
export type InternalAuthDecision =
  | {
      readonly kind: 'allowed';
      /** The calling service its verified token names; none in `token` mode. */
      readonly caller: ServiceCaller | undefined;
    }
  | {
      readonly kind: 'refused';
      /** Why, for logs and metrics only: never sent to the caller. */
      readonly reason: InternalAuthDeniedReason;
      readonly status: 401 | 403 | 503;
      readonly body: { readonly error: string };
      /** The `WWW-Authenticate` challenge to send, when there is one. */
      readonly wwwAuthenticate?: string;
    };

/** Where the check writes its refusal lines: Nest's `Logger`, pino, `console` all fit. */
export interface InternalAuthLogger {
  warn(line: Record<string, unknown>): unknown;
}

/** What {@link InternalAuthCheck} reports to, besides the configuration. */
export interface InternalAuthCheckOptions {
  /** Counts refusals (the chassis's metrics); optional. */
  readonly events?: InternalAuthEvents;
  /** Where refusal lines go; Nest's `Logger` named `InternalAuthCheck` when absent. */
  readonly logger?: InternalAuthLogger;
}

type Refusal = { readonly reason: InternalAuthDeniedReason; readonly detail?: string };
type Verified = { readonly caller: ServiceCaller; readonly token: string };
// What the credential proved: a service token's caller, or (null) the shared token alone.
type Proof = Verified | null;
type Refused = Extract<InternalAuthDecision, { kind: 'refused' }>;

const ALLOWED_WITHOUT_CALLER: InternalAuthDecision = Object.freeze({
  kind: 'allowed',
  caller: undefined,
});

// `Authorization: Bearer <compact JWS>` (the scheme is case-insensitive, RFC 7235).
const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i;
// `Authorization: Bearer <b64token>` (RFC 6750 section 2.1): the metrics token's form.
const OPAQUE_BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i;

/**
 * The internal-auth decision, apart from any framework: the NestJS guard, the Express
 * middleware and the Fastify hook all call it, so each answers a request alike (DESIGN
 * section 9):
 * - `token` (the default): exactly one `X-INTERNAL-TOKEN` equal to an accepted token, else
 *   403 `{"error":"Forbidden"}`;
 * - `jwt`: exactly one `Authorization: Bearer <service token>` that verifies for this service
 *   (else 401 `{"error":"unauthorized"}`, `WWW-Authenticate: Bearer error="invalid_token"`)
 *   and carries a scope the route declares (else 403 with `error="insufficient_scope"`; a
 *   route without a declaration refuses every caller). No key to check it: 503;
 * - `token+jwt`: both, the shared token first.
 * On an introspected route, with `introspection` configured, the issuer must also call the
 * token active (else 401 as for a bad token; 503 when it cannot say). With `shadow: 'jwt'` in
 * `token` mode, what `jwt` mode would refuse is logged (`internal_auth_shadow_denied`) and
 * reported, not refused.
 *
 * Every refusal is one `internal_auth_denied` line (reason, remote address, method, path;
 * never a token or a query string) and one call of `events.denied`. An allowed service caller
 * is then {@link verifiedCallerOf}(request).
 *
 * The answer is synchronous whenever it can be (`token` mode, a service token verified
 * before on a route that does not introspect), a promise otherwise.
 */
export class InternalAuthCheck {
  private readonly logger: InternalAuthLogger;
  private readonly events: InternalAuthEvents | undefined;
  private readonly mode: InternalAuthMode;
  private readonly shadow: boolean;
  // None in `jwt` mode, which takes no shared token.
  private readonly matcher: TokenMatcher | undefined;
  // The metrics token of scrape-only routes; none in `jwt` mode or when not configured.
  private readonly metricsMatcher: TokenMatcher | undefined;
  private readonly serviceTokens: JwtVerifier<ServiceCaller> | undefined;
  private readonly introspector: TokenIntrospector | undefined;
  // What `authenticate` proved of a request, for `authorize` (null: the shared token alone).
  private readonly authenticated = new WeakMap<IncomingMessage, Proof>();

  constructor(config: InternalAuthConfig, options: InternalAuthCheckOptions = {}) {
    this.logger = options.logger ?? new Logger(InternalAuthCheck.name);
    this.events = options.events;
    this.mode = config.mode ?? 'token';
    this.matcher = this.mode === 'jwt' ? undefined : new TokenMatcher(config.acceptedTokens);
    this.metricsMatcher =
      this.mode !== 'jwt' && config.metricsToken
        ? new TokenMatcher([config.metricsToken])
        : undefined;
    this.shadow = config.shadow === 'jwt';
    if ((this.mode !== 'token' || this.shadow) && !config.serviceTokens) {
      throw new TypeError(`InternalAuthCheck: mode ${this.mode} needs serviceTokens settings`);
    }
    this.serviceTokens = config.serviceTokens && createServiceTokenVerifier(config.serviceTokens);
    this.introspector = config.introspection && new TokenIntrospector(config.introspection);
  }

  /**
   * Fetches the issuer's key set now, not waiting for it and never throwing (the issuer may
   * start after this service): see {@link JwtVerifier.prefetchKeys}.
   */
  prefetchKeys(): Promise<void> {
    return this.serviceTokens?.prefetchKeys() ?? Promise.resolve();
  }

  /** The whole check of a request to `route`: {@link authenticate}, then {@link authorize}. */
  check(
    request: IncomingMessage,
    route: InternalRouteAuth,
  ): InternalAuthDecision | Promise<InternalAuthDecision> {
    return andThen(this.prove(request), (proof) =>
      isRefused(proof) ? proof : this.authorizeProof(request, proof, route),
    );
  }

  /**
   * A scrape-only route (`GET /metrics`): a read-only credential in `Authorization: Bearer`,
   * never `X-INTERNAL-TOKEN` (which can move money): the metrics token (`token`,
   * `token+jwt`) or a service token with one of the route's scopes (`token+jwt`, `jwt`).
   */
  checkScrape(
    request: IncomingMessage,
    route: InternalRouteAuth,
  ): InternalAuthDecision | Promise<InternalAuthDecision> {
    if (this.mode !== 'jwt') {
      const reason = this.findMetricsTokenDenial(request);
      if (reason === undefined) return ALLOWED_WITHOUT_CALLER;
      // token+jwt: a bearer that is not the metrics token may be the scraper's service token.
      if (this.mode === 'token') return this.refuse(request, { reason });
    }
    const bearer = readBearer(request);
    if (typeof bearer !== 'string') return this.refuse(request, bearer);
    return andThen(this.verify(bearer), (verified) =>
      'reason' in verified
        ? this.refuse(request, verified)
        : this.authorizeProof(request, { caller: verified, token: bearer }, route),
    );
  }

  /**
   * The credential alone, whatever the route: the shared token, and the service token's
   * signature and claims. A framework that knows the route only later (Express) calls this
   * first, for every request, and {@link authorize} on the route; `allowed` here never names
   * a caller.
   */
  authenticate(request: IncomingMessage): InternalAuthDecision | Promise<InternalAuthDecision> {
    return andThen(this.prove(request), (proof) => {
      if (isRefused(proof)) return proof;
      this.authenticated.set(request, proof);
      return ALLOWED_WITHOUT_CALLER;
    });
  }

  /**
   * Whether the caller {@link authenticate} proved may call `route`: one of its scopes, and
   * on an introspected route an active token. A request not authenticated yet is checked
   * whole ({@link check}), so `authorize` alone never lets anything through unchecked.
   */
  authorize(
    request: IncomingMessage,
    route: InternalRouteAuth,
  ): InternalAuthDecision | Promise<InternalAuthDecision> {
    const proof = this.authenticated.get(request);
    if (proof === undefined) return this.check(request, route);
    return this.authorizeProof(request, proof, route);
  }

  /** The shared token, then the service token, as the mode says: what they prove, or a refusal. */
  private prove(request: IncomingMessage): Proof | Refused | Promise<Proof | Refused> {
    if (this.mode !== 'jwt') {
      const reason = this.findSharedTokenDenial(request);
      if (reason !== undefined) return this.refuse(request, { reason });
      if (this.mode === 'token') return null;
    }
    const bearer = readBearer(request);
    if (typeof bearer !== 'string') return this.refuse(request, bearer);
    return andThen(this.verify(bearer), (verified) =>
      'reason' in verified ? this.refuse(request, verified) : { caller: verified, token: bearer },
    );
  }

  private authorizeProof(
    request: IncomingMessage,
    proof: Proof,
    route: InternalRouteAuth,
  ): InternalAuthDecision | Promise<InternalAuthDecision> {
    if (proof === null) {
      return this.shadow ? this.rehearse(request, route) : ALLOWED_WITHOUT_CALLER;
    }
    const refusal = scopeRefusal(proof.caller, route);
    if (refusal) return this.refuse(request, refusal);
    if (!(route.introspected === true && this.introspector)) return this.allow(request, proof);
    return this.introspect(this.introspector, proof).then((inactive) =>
      inactive ? this.refuse(request, inactive) : this.allow(request, proof),
    );
  }

  private allow(request: IncomingMessage, { caller }: Verified): InternalAuthDecision {
    setVerifiedCaller(request, caller);
    return { kind: 'allowed', caller };
  }

  /** The caller a service token names, or why it does not verify. */
  private verify(token: string): ServiceCaller | Refusal | Promise<ServiceCaller | Refusal> {
    // Set whenever the mode or the shadow needs it (checked in the constructor).
    const verifier = this.serviceTokens as JwtVerifier<ServiceCaller>;
    // Synchronous for a token verified before: the common case, a caller reuses its token.
    const known = verifier.verifiedBefore(token);
    if (known !== undefined) return known;
    return verifier.verify(token).catch((error: unknown): Refusal => {
      if (error instanceof TokenRejectedError) {
        return { reason: 'token_rejected', detail: error.reason };
      }
      if (error instanceof KeySetUnavailableError) {
        return { reason: 'keys_unavailable', detail: error.reason };
      }
      throw error;
    });
  }

  /** A verified token on an introspected route: refused unless the issuer says active. */
  private async introspect(
    introspector: TokenIntrospector,
    { caller, token }: Verified,
  ): Promise<Refusal | undefined> {
    try {
      if (await introspector.isActive(token)) return undefined;
      return { reason: 'token_inactive', detail: caller.name };
    } catch (error) {
      if (error instanceof IntrospectionUnavailableError) {
        return { reason: 'introspection_unavailable', detail: error.reason };
      }
      throw error;
    }
  }

  /** `shadow: 'jwt'`: what `jwt` mode would refuse is logged and reported only. */
  private async rehearse(
    request: IncomingMessage,
    route: InternalRouteAuth,
  ): Promise<InternalAuthDecision> {
    const bearer = readBearer(request);
    let refusal: Refusal | undefined;
    if (typeof bearer !== 'string') {
      refusal = bearer;
    } else {
      const verified = await this.verify(bearer);
      refusal = 'reason' in verified ? verified : scopeRefusal(verified, route);
    }
    if (refusal) {
      this.logger.warn({
        event: 'internal_auth_shadow_denied',
        reason: refusal.reason,
        ...(refusal.detail === undefined ? {} : { detail: refusal.detail }),
        method: request.method,
        path: requestPathOf(request),
      });
      this.events?.shadowDenied?.(refusal.reason);
    }
    return ALLOWED_WITHOUT_CALLER;
  }

  private refuse(request: IncomingMessage, { reason, detail }: Refusal): Refused {
    this.logger.warn({
      event: 'internal_auth_denied',
      reason,
      ...(detail === undefined ? {} : { detail }),
      remote_address: request.socket?.remoteAddress,
      method: request.method,
      // The path only: a query string may carry a misplaced credential.
      path: requestPathOf(request),
    });
    this.events?.denied(reason);
    return refusalAnswer(reason);
  }

  private findMetricsTokenDenial(request: IncomingMessage): InternalAuthDeniedReason | undefined {
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

  private findSharedTokenDenial(request: IncomingMessage): InternalAuthDeniedReason | undefined {
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

/** The answer to a refusal: status, body and challenge depend on the reason alone. */
function refusalAnswer(reason: InternalAuthDeniedReason): Refused {
  switch (reason) {
    case 'missing':
    case 'empty':
    case 'repeated':
    case 'comma_joined':
    case 'mismatch':
      return { kind: 'refused', reason, status: 403, body: FORBIDDEN_BODY };
    case 'insufficient_scope':
    case 'no_scopes_declared':
      return {
        kind: 'refused',
        reason,
        status: 403,
        body: FORBIDDEN_BODY,
        wwwAuthenticate: 'Bearer error="insufficient_scope"',
      };
    // The token may be valid: without the issuer's keys, or its answer, it can be neither
    // accepted nor refused.
    case 'keys_unavailable':
    case 'introspection_unavailable':
      return { kind: 'refused', reason, status: 503, body: AUTH_UNAVAILABLE_BODY };
    case 'bearer_missing':
    case 'bearer_repeated':
    case 'bearer_malformed':
    case 'token_rejected':
    case 'token_inactive':
    case 'metrics_token_mismatch':
    case 'metrics_token_unset':
      return {
        kind: 'refused',
        reason,
        status: 401,
        body: UNAUTHORIZED_BODY,
        wwwAuthenticate: 'Bearer error="invalid_token"',
      };
  }
}

/** Whether the verified `caller` holds one of the scopes the route accepts. */
function scopeRefusal(caller: ServiceCaller, route: InternalRouteAuth): Refusal | undefined {
  const accepted = route.scopes;
  if (accepted === undefined) return { reason: 'no_scopes_declared', detail: caller.name };
  if (!accepted.some((scope) => caller.scopes.has(scope))) {
    return { reason: 'insufficient_scope', detail: caller.name };
  }
  return undefined;
}

/** The service token of `Authorization: Bearer`, or why there is none to check. */
function readBearer(request: IncomingMessage): string | Refusal {
  const header = readSingleHeader(request, 'Authorization');
  if (header.kind === 'absent') return { reason: 'bearer_missing' };
  if (header.kind === 'repeated') return { reason: 'bearer_repeated' };
  const token = BEARER.exec(header.value)?.[1];
  if (token === undefined) return { reason: 'bearer_malformed' };
  return token;
}

function isRefused(value: Proof | Refused): value is Refused {
  return value !== null && 'kind' in value;
}

/** `then` that stays synchronous for a value that is not a promise. */
function andThen<T, U>(value: T | Promise<T>, next: (value: T) => U | Promise<U>): U | Promise<U> {
  return value instanceof Promise ? value.then(next) : next(value);
}
