import {
  type CanActivate,
  type ExecutionContext,
  HttpStatus,
  Injectable,
  Logger,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  IS_PUBLIC_KEY,
  KeySetUnavailableError,
  readSingleHeader,
  TokenRejectedError,
} from '@zt/service-utils';
import { HttpError } from '@zt/service-chassis';
import {
  type FrameworkRequest,
  type FrameworkResponse,
  nodeRequestOf,
  nodeResponseOf,
  requestPathOf,
} from '@zt/service-utils';
import { setAccessTokenOf, setAuthenticatedUser } from './authenticated-user';
import { RevocationList } from './revocation-list';
import { UserTokenVerifier } from './user-token.verifier';

// RFC 6750 b64token after the scheme (case-insensitive), bounded so a huge header is refused
// before any decoding.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]{1,8192}=*)$/i;

/**
 * The backend's global guard (`APP_GUARD`): every route needs `Authorization: Bearer <access
 * token>` unless it says `@Public()`. The token is verified locally ({@link UserTokenVerifier})
 * and the user it names is recorded for `@CurrentUser()`.
 *
 * Refusal is `401 {"error":"unauthorized"}` with `WWW-Authenticate: Bearer`, whatever was
 * wrong (missing, repeated, malformed, bad signature, expired, its session ended...); the reason goes to the log
 * (`user_auth_denied`), never the token. When the auth server's keys cannot be had, the answer
 * is `503 {"error":"auth unavailable"}`: the token may be valid, so 401 would be a lie.
 */
@Injectable()
export class UserTokenGuard implements CanActivate {
  private readonly logger = new Logger(UserTokenGuard.name);

  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: UserTokenVerifier,
    private readonly revocations: RevocationList,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const isPublic = this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;

    const http = context.switchToHttp();
    const request = nodeRequestOf(http.getRequest<FrameworkRequest>());
    const header = readSingleHeader(request, 'Authorization');
    if (header.kind === 'absent') this.deny(context, 'missing');
    if (header.kind === 'repeated') this.deny(context, 'repeated');
    const token = BEARER.exec(header.value)?.[1];
    if (token === undefined) this.deny(context, 'malformed');

    try {
      const user = await this.verifier.verify(token);
      if (this.revocations.isRevoked(user)) this.deny(context, 'revoked');
      setAccessTokenOf(user, token);
      setAuthenticatedUser(request, user);
    } catch (error) {
      if (error instanceof TokenRejectedError) this.deny(context, error.reason);
      if (error instanceof KeySetUnavailableError) {
        throw new HttpError(HttpStatus.SERVICE_UNAVAILABLE, 'auth unavailable');
      }
      throw error;
    }
    return true;
  }

  private deny(context: ExecutionContext, reason: string): never {
    const http = context.switchToHttp();
    const request = nodeRequestOf(http.getRequest<FrameworkRequest>());
    this.logger.warn({
      event: 'user_auth_denied',
      reason,
      remote_address: request.socket.remoteAddress,
      method: request.method,
      // Without the query string, which may carry a misplaced credential.
      path: requestPathOf(request),
    });
    nodeResponseOf(http.getResponse<FrameworkResponse>()).setHeader(
      'WWW-Authenticate',
      'Bearer realm="backend"',
    );
    throw new HttpError(HttpStatus.UNAUTHORIZED, 'unauthorized');
  }
}
