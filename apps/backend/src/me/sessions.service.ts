import { HttpException, HttpStatus, Injectable } from '@nestjs/common';
import { HttpError } from '@zt/service-chassis';
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
    if (answer.status !== 204) {
      throw new HttpError(HttpStatus.INTERNAL_SERVER_ERROR, 'internal server error');
    }
    this.revocations.revokeLocally(user);
  }

  /**
   * Changes the password after the current one is checked; every session of the user ends,
   * this one included (sign in again with the new password).
   */
  async changePassword(user: AuthenticatedUser, body: Record<string, unknown>): Promise<void> {
    const answer = await this.auth.changePassword(user.userId, body);
    switch (answer.status) {
      case 204:
        // The feed now holds the user's cutoff: read it rather than wait for the next poll.
        await this.revocations.poll();
        return;
      case 400:
        throw new HttpException(
          { error: answer.body?.['error'] ?? 'invalid request', details: answer.body?.['details'] },
          HttpStatus.BAD_REQUEST,
        );
      case 401:
        // The token is fine; the proof it was asked for is not.
        throw new HttpError(HttpStatus.FORBIDDEN, 'invalid credentials');
      case 429:
        throw new HttpError(
          HttpStatus.TOO_MANY_REQUESTS,
          'too many failed attempts; try again later',
          {
            retry_after_seconds: answer.body?.['retry_after_seconds'],
          },
        );
      default:
        throw new HttpError(HttpStatus.INTERNAL_SERVER_ERROR, 'internal server error');
    }
  }
}
