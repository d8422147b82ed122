import {
  type CallHandler,
  type ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  Logger,
  type NestInterceptor,
  Optional,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type FrameworkRequest, nodeRequestOf } from '../http/node-message';
import type { UserProofConfig } from '../config/user-proof.config';
import { provenUserOf } from './proven-user';
import { ACTS_FOR_USER_KEY, type NamedUser, USER_PROOF_CONFIG } from './user-proof.constants';
import { logUserProofDenied, namedUserOf, USER_PROOF_FORBIDDEN_BODY } from './user-proof.guard';

/**
 * The second half of `@ActsForUser({ body })` with `USER_PROOF=required`: a JSON body is read
 * after guards (the chassis reads no byte of an unauthenticated request), so the user it names
 * is compared with the proven user here, after the body is parsed and before any pipe or
 * handler runs: `403 {"error":"user proof does not cover this request"}` for another user or
 * none. The body must be read before it: the chassis's `@JsonBody()` puts its reader first
 * among the route's interceptors. A body not read names nobody, and is refused.
 */
@Injectable()
export class UserProofInterceptor implements NestInterceptor {
  private readonly logger = new Logger(UserProofInterceptor.name);
  private readonly required: boolean;

  constructor(
    private readonly reflector: Reflector,
    @Optional() @Inject(USER_PROOF_CONFIG) config?: UserProofConfig,
  ) {
    this.required = config?.mode === 'required';
  }

  // Typed through Nest's CallHandler, so the kit needs no rxjs of its own.
  intercept(context: ExecutionContext, next: CallHandler): ReturnType<CallHandler['handle']> {
    if (!this.required) return next.handle();
    const named = this.reflector.getAllAndOverride<NamedUser | undefined>(ACTS_FOR_USER_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (named === undefined || !('body' in named)) return next.handle();
    const framework = context.switchToHttp().getRequest<FrameworkRequest>();
    const request = nodeRequestOf(framework);
    const proven = provenUserOf(request);
    if (!proven || namedUserOf(framework, named) !== proven.userId) {
      logUserProofDenied(this.logger, request, proven ? 'other_user' : 'no_verified_caller');
      throw new ForbiddenException(USER_PROOF_FORBIDDEN_BODY);
    }
    return next.handle();
  }
}
