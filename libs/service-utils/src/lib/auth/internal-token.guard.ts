import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  Logger,
  Optional,
  type Type,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import type { InternalAuthConfig } from '../config/internal-auth.config';
import { readSingleHeader } from '../http/single-header';
import {
  INTERNAL_AUTH_CONFIG,
  INTERNAL_TOKEN_HEADER,
  IS_INTERNAL_ONLY_KEY,
} from './internal-auth.constants';
import type { InternalAuthDeniedReason } from './internal-auth-denied.reason';
import { InternalAuthEvents } from './internal-auth-events';
import { IS_PUBLIC_KEY } from './public.decorator';
import { TokenMatcher } from './token-matcher';

// A route handler as Nest hands it to a guard.
type Handler = ReturnType<ExecutionContext['getHandler']>;

/** The body of every refusal, whatever was wrong: the reason goes to the log only. */
export const FORBIDDEN_BODY = { error: 'Forbidden' } as const;

/**
 * Default-deny guard for internal routes. A request passes only when the route is
 * `@Public()` (and not `@InternalOnly()`) or it carries exactly one `X-INTERNAL-TOKEN` header
 * whose value equals an accepted token. Anything else is `403 {"error":"Forbidden"}` plus one
 * structured `internal_auth_denied` log line (reason, remote address, method, path; never the
 * token), also reported to {@link InternalAuthEvents} when the app provides one (the chassis's
 * `MetricsModule` counts them in `internal_auth_denied_total{reason}`).
 *
 * Registered globally by `InternalAuthModule`, so a new route is protected without anyone
 * remembering to protect it.
 */
@Injectable()
export class InternalTokenGuard implements CanActivate {
  private readonly logger = new Logger(InternalTokenGuard.name);
  private readonly matcher: TokenMatcher;
  private readonly openRoutes = new WeakMap<Type, WeakMap<Handler, boolean>>();

  constructor(
    private readonly reflector: Reflector,
    @Inject(INTERNAL_AUTH_CONFIG) config: InternalAuthConfig,
    @Optional() private readonly events?: InternalAuthEvents,
  ) {
    this.matcher = new TokenMatcher(config.acceptedTokens);
  }

  canActivate(context: ExecutionContext): boolean {
    if (this.isOpen(context.getClass(), context.getHandler())) return true;

    const request = context.switchToHttp().getRequest<Request>();
    const reason = this.findDenialReason(request);
    if (reason === undefined) return true;

    this.logger.warn({
      event: 'internal_auth_denied',
      reason,
      remote_address: request.socket.remoteAddress,
      method: request.method,
      // The path only: a query string may carry a misplaced credential.
      path: request.path,
    });
    this.events?.denied(reason);
    throw new ForbiddenException(FORBIDDEN_BODY);
  }

  /**
   * Whether a route is open without a token: `@Public()` and not `@InternalOnly()`. Decorators
   * are fixed once the app is built, so the answer is remembered per class and handler (a
   * handler inherited by two controllers may be judged differently in each).
   */
  private isOpen(controller: Type, handler: Handler): boolean {
    let handlers = this.openRoutes.get(controller);
    if (handlers === undefined) {
      handlers = new WeakMap();
      this.openRoutes.set(controller, handlers);
    }
    let open = handlers.get(handler);
    if (open === undefined) {
      const targets = [handler, controller];
      const isPublic = this.reflector.getAllAndOverride<boolean | undefined>(
        IS_PUBLIC_KEY,
        targets,
      );
      const isInternalOnly = this.reflector.getAllAndOverride<boolean | undefined>(
        IS_INTERNAL_ONLY_KEY,
        targets,
      );
      open = isPublic === true && isInternalOnly !== true;
      handlers.set(handler, open);
    }
    return open;
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
        return this.matcher.matches(header.value) ? undefined : 'mismatch';
    }
  }
}
