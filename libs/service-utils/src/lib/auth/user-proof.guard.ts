import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  Optional,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import {
  type FrameworkRequest,
  type FrameworkResponse,
  nodeRequestOf,
  nodeResponseOf,
  requestPathOf,
} from '../http/node-message';
import type { UserProofConfig } from '../config/user-proof.config';
import { readSingleHeader } from '../http/single-header';
import type { JwtVerifier } from '../tokens/jwt-verifier';
import { KeySetUnavailableError, TokenRejectedError } from '../tokens/token-errors';
import {
  createUserAssertionVerifier,
  USER_ASSERTION_HEADER,
  type UserAssertion,
} from '../tokens/user-assertion';
import { USER_ID_HEADER } from './acting-user';
import { SCOPES_KEY } from './scopes.decorator';
import { ACTS_FOR_USER_KEY, type NamedUser, USER_PROOF_CONFIG } from './user-proof.constants';
import { setProvenUser } from './proven-user';
import { verifiedCallerOf } from './verified-caller';

/** Why a user proof was refused (the log's `reason`; never told to the caller beyond its status). */
export type UserProofDeniedReason =
  | 'assertion_missing'
  | 'assertion_repeated'
  | 'assertion_rejected'
  | 'no_verified_caller'
  | 'actor_not_caller'
  | 'insufficient_scope'
  | 'other_user'
  | 'keys_unavailable';

/** The answer to a call without a usable user assertion (401). */
export const USER_PROOF_REQUIRED_BODY = { error: 'user proof required' } as const;
/** The answer to a call whose user assertion does not cover this request (403). */
export const USER_PROOF_FORBIDDEN_BODY = {
  error: 'user proof does not cover this request',
} as const;

// The challenge of a 401: not `Bearer`, so the caller's client does not renew its service
// token for it (the service token was fine).
const CHALLENGE = `UserAssertion error="invalid_token"`;

/**
 * Checks the user's own proof on routes marked `@ActsForUser()`, where `USER_PROOF=required`
 * (with `off`, it lets every request through). Runs after the internal guard, which has
 * verified the calling service. The request must carry exactly one `X-User-Assertion`: a user
 * assertion (token exchange, RFC 8693) that verifies for this service (signature with the
 * issuer's service-token keys, `typ` user-assertion+jwt, `iss`, `aud`, `exp`), whose actor
 * (`act.sub`) is the verified calling service, holding one of the route's `@Scopes()`, and
 * whose `sub` is the user the request names (in the path or a header: checked here; in the
 * JSON body, which is read only after guards: checked by {@link UserProofInterceptor}, still
 * before any pipe or handler). The proven user is then {@link provenUserOf}(request).
 * Otherwise, before any handler runs:
 * - missing, repeated or not verifying: `401 {"error":"user proof required"}`;
 * - valid, but another caller's, another user's, or without the scope:
 *   `403 {"error":"user proof does not cover this request"}`;
 * - no key to check it: `503 {"error":"auth unavailable"}`.
 * Each refusal is one `user_proof_denied` log line (reason, caller, method, path; never a token).
 */
@Injectable()
export class UserProofGuard implements CanActivate, OnApplicationBootstrap {
  private readonly logger = new Logger(UserProofGuard.name);
  private readonly assertions: JwtVerifier<UserAssertion> | undefined;

  constructor(
    private readonly reflector: Reflector,
    @Optional() @Inject(USER_PROOF_CONFIG) config?: UserProofConfig,
  ) {
    if (config === undefined) {
      throw new TypeError(
        'UserProofGuard: @ActsForUser() needs UserProofModule.forRoot(config) in the root module',
      );
    }
    this.assertions =
      config.mode === 'required' ? createUserAssertionVerifier(config.assertions) : undefined;
  }

  onApplicationBootstrap(): void {
    void this.assertions?.prefetchKeys();
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (!this.assertions) return true;
    const named = this.reflector.getAllAndOverride<NamedUser | undefined>(ACTS_FOR_USER_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (named === undefined) return true;
    const request = nodeRequestOf(context.switchToHttp().getRequest<FrameworkRequest>());
    const header = readSingleHeader(request, USER_ASSERTION_HEADER);
    if (header.kind === 'absent') return this.deny(context, 'assertion_missing');
    if (header.kind === 'repeated') return this.deny(context, 'assertion_repeated');
    // A token verified before is checked synchronously: no promise for Nest to await.
    const known = this.assertions.verifiedBefore(header.value);
    if (known) return this.check(context, named, known);
    return this.assertions.verify(header.value).then(
      (assertion) => this.check(context, named, assertion),
      (error: unknown) => {
        if (error instanceof TokenRejectedError) {
          return this.deny(context, 'assertion_rejected', error.reason);
        }
        if (error instanceof KeySetUnavailableError) {
          return this.deny(context, 'keys_unavailable', error.reason);
        }
        throw error;
      },
    );
  }

  private check(context: ExecutionContext, named: NamedUser, assertion: UserAssertion): true {
    const framework = context.switchToHttp().getRequest<FrameworkRequest>();
    const request = nodeRequestOf(framework);
    const caller = verifiedCallerOf(request);
    if (!caller) return this.deny(context, 'no_verified_caller');
    if (assertion.actor !== caller.name) return this.deny(context, 'actor_not_caller');
    const accepted = this.reflector.getAllAndOverride<string[] | undefined>(SCOPES_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!accepted?.some((scope) => assertion.scopes.has(scope))) {
      return this.deny(context, 'insufficient_scope');
    }
    // A user named in the path or a header is compared now; one in the body once it is read
    // (after guards, by the chassis), by UserProofInterceptor, still before any handler.
    if (!('body' in named) && namedUserOf(framework, named) !== assertion.userId) {
      return this.deny(context, 'other_user');
    }
    setProvenUser(request, assertion);
    return true;
  }

  private deny(context: ExecutionContext, reason: UserProofDeniedReason, detail?: string): never {
    const request = nodeRequestOf(context.switchToHttp().getRequest<FrameworkRequest>());
    logUserProofDenied(this.logger, request, reason, detail);
    switch (reason) {
      case 'assertion_missing':
      case 'assertion_repeated':
      case 'assertion_rejected':
        nodeResponseOf(context.switchToHttp().getResponse<FrameworkResponse>()).setHeader(
          'WWW-Authenticate',
          CHALLENGE,
        );
        throw new UnauthorizedException(USER_PROOF_REQUIRED_BODY);
      case 'keys_unavailable':
        throw new ServiceUnavailableException({ error: 'auth unavailable' });
      case 'no_verified_caller':
      case 'actor_not_caller':
      case 'insufficient_scope':
      case 'other_user':
        throw new ForbiddenException(USER_PROOF_FORBIDDEN_BODY);
    }
  }
}

/** The one `user_proof_denied` log line of a refusal: reason, caller, method, path; no token. */
export function logUserProofDenied(
  logger: Logger,
  request: IncomingMessage,
  reason: UserProofDeniedReason,
  detail?: string,
): void {
  logger.warn({
    event: 'user_proof_denied',
    reason,
    ...(detail === undefined ? {} : { detail }),
    caller: verifiedCallerOf(request)?.name ?? null,
    method: request.method,
    path: requestPathOf(request),
  });
}

/**
 * The user the request names where the route says; `undefined` when it names none there.
 * `request` is the adapter's request: route parameters and the parsed body live on it.
 */
export function namedUserOf(request: FrameworkRequest, named: NamedUser): string | undefined {
  if ('header' in named) {
    const header = readSingleHeader(nodeRequestOf(request), USER_ID_HEADER);
    return header.kind === 'single' ? header.value : undefined;
  }
  const parsed = request as { params?: unknown; body?: unknown };
  const source: unknown = 'param' in named ? parsed.params : parsed.body;
  if (typeof source !== 'object' || source === null || Array.isArray(source)) return undefined;
  // Own properties only: `__proto__` or `constructor` name nobody.
  if (!Object.prototype.hasOwnProperty.call(source, 'param' in named ? named.param : named.body)) {
    return undefined;
  }
  const value = (source as Record<string, unknown>)['param' in named ? named.param : named.body];
  return typeof value === 'string' ? value : undefined;
}
