import { HttpException, HttpStatus, Injectable } from '@nestjs/common';
import type { authApi, RequestBody } from '@zt/contracts';
import { HttpError, UnexpectedUpstreamAnswerError } from '@zt/service-chassis';
import { AuthSessionsClient } from '../auth/auth-sessions.client';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { RevocationList } from '../auth/revocation-list';

/** Ending the signed-in user's sessions, through the auth server. */
@Injectable()
export class SessionsService {
  constructor(
    private readonly auth: AuthSessionsClient,
    private readonly revocations: RevocationList,
  ) {}

  /** Ends the session of the token this request came with. */
  async logout(user: AuthenticatedUser): Promise<void> {
    const answer = await this.auth.revokeToken(user.userId, user.tokenId, user.expiresAt);
    switch (answer.kind) {
      case 'revoked':
        this.revocations.revokeLocally(user);
        return;
      case 'user_not_found': // the token was verified: auth disagrees with itself
      case 'invalid_request': // a body built here: a bug
        throw new UnexpectedUpstreamAnswerError('auth', 'POST /revocations', answer.status);
    }
  }

  /**
   * Changes the password after the current one is checked; every session of the user ends,
   * this one included (sign in again with the new password).
   */
  async changePassword(
    user: AuthenticatedUser,
    body: RequestBody<typeof authApi.changePassword>,
  ): Promise<void> {
    const answer = await this.auth.changePassword(user.userId, body);
    switch (answer.kind) {
      case 'changed':
        // The feed now holds the user's cutoff: read it rather than wait for the next poll.
        await this.revocations.poll();
        return;
      case 'invalid_request':
        throw new HttpException(
          { error: answer.body.error, details: answer.body['details'] },
          HttpStatus.BAD_REQUEST,
        );
      case 'invalid_credentials':
        // The token is fine; the proof it was asked for is not.
        throw new HttpError(HttpStatus.FORBIDDEN, 'invalid credentials');
      case 'too_many_attempts':
        throw new HttpError(
          HttpStatus.TOO_MANY_REQUESTS,
          'too many failed attempts; try again later',
          { retry_after_seconds: answer.body['retry_after_seconds'] },
        );
    }
  }
}
