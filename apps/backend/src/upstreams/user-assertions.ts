import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import { HttpError } from '@zt/service-chassis';
import {
  ServiceTokenUnavailableError,
  tokenExchangeGrant,
  USER_ASSERTION_HEADER,
  UserAssertionCache,
} from '@zt/service-utils';
import { accessTokenOf, type AuthenticatedUser } from '../auth/authenticated-user';
import type { UserProofOptions } from '../config/backend.config';

/** Injection token of {@link UserProofOptions}. */
export const USER_PROOF_OPTIONS = Symbol('USER_PROOF_OPTIONS');

/** The headers of a call that carries no user proof. */
export const NO_USER_PROOF: Readonly<Record<string, string>> = {};

/**
 * The user's own proof on the backend's calls that act for them (issue 14, item 5): with
 * `USER_PROOF=required`, a user assertion for the callee, exchanged at the auth server for the
 * user's access token (RFC 8693) and cached per session and callee until shortly before it
 * expires, sent as `X-User-Assertion` beside the backend's service credential. With `off`,
 * nothing. An exchange the auth server refuses (the session ended since the token was
 * checked here) is the user's 401; one it cannot answer is a 503 `auth unavailable`.
 */
@Injectable()
export class UserAssertions {
  private readonly logger = new Logger(UserAssertions.name);
  private readonly cache: UserAssertionCache | undefined;

  constructor(@Inject(USER_PROOF_OPTIONS) options: UserProofOptions) {
    this.cache =
      options.mode === 'required'
        ? new UserAssertionCache(
            tokenExchangeGrant(options.client, { timeoutMs: options.timeoutMs }),
          )
        : undefined;
  }

  /** The headers that prove `user` to `audience` (none with `USER_PROOF=off`). */
  async headersFor(
    user: AuthenticatedUser,
    audience: 'billing-server' | 'filesystem-server',
  ): Promise<Readonly<Record<string, string>>> {
    if (!this.cache) return NO_USER_PROOF;
    const token = accessTokenOf(user);
    // Every user reaching a call was verified from a token: without it, a bug of ours.
    if (token === undefined) throw new Error('UserAssertions: the user has no access token');
    try {
      return { [USER_ASSERTION_HEADER]: await this.cache.assertion(token, audience) };
    } catch (error) {
      if (!(error instanceof ServiceTokenUnavailableError)) throw error;
      this.logger.warn({
        event: 'user_assertion_unavailable',
        audience,
        user_id: user.userId,
        reason: error.reason,
        ...(error.oauthError ? { oauth_error: error.oauthError } : {}),
      });
      if (error.oauthError === 'invalid_grant') {
        throw new HttpError(HttpStatus.UNAUTHORIZED, 'unauthorized');
      }
      throw new HttpError(HttpStatus.SERVICE_UNAVAILABLE, 'auth unavailable');
    }
  }
}
