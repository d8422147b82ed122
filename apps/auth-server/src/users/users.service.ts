import { HttpStatus, Injectable } from '@nestjs/common';
import { HttpError, UnexpectedUpstreamAnswerError } from '@zt/service-chassis';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { BILLING_UPSTREAM, BillingClient } from '../billing/billing.client';
import { TokensService } from '../tokens/tokens.service';
import type { authApi, ParsedBody, Tier } from '@zt/contracts';
import { FailedLoginThrottle } from './failed-login-throttle';
import { PasswordHasher } from './password-hasher';
import { UsersRepository } from './users.repository';

/** The digest under which an invite code is stored. */
export function inviteDigest(code: string): string {
  return createHash('sha256').update(code, 'utf8').digest('hex');
}

/** Invites, registration and login. */
@Injectable()
export class UsersService {
  constructor(
    private readonly repository: UsersRepository,
    private readonly hasher: PasswordHasher,
    private readonly billing: BillingClient,
    private readonly tokens: TokensService,
    private readonly throttle: FailedLoginThrottle,
  ) {}

  /** Makes a single-use invite for `tier`. Only its digest is stored. */
  async createInvite(tier: Tier): Promise<{ invite_code: string; tier: Tier }> {
    const code = randomBytes(24).toString('base64url');
    await this.repository.createInvite(inviteDigest(code), tier);
    return { invite_code: code, tier };
  }

  /**
   * Registers a user with the invite's tier. The user row, the consumed invite and billing's
   * account are one unit: when billing refuses or is down the transaction rolls back, so no
   * half-made user is left and the invite can be used again.
   */
  async register(
    request: ParsedBody<typeof authApi.register>,
  ): Promise<{ user_id: string; email: string; tier: Tier }> {
    const digest = inviteDigest(request.invite_code);
    // A cheap look first: without a usable invite, no scrypt work is spent (an anonymous
    // caller could otherwise keep the hashing threads busy). The transaction checks again.
    if (!(await this.repository.isInviteUsable(digest))) {
      throw new HttpError(HttpStatus.FORBIDDEN, 'invalid invite');
    }
    const passwordHash = await this.hasher.hash(request.password);
    const userId = randomUUID();
    return this.repository.transaction(async (tx) => {
      const tier = await this.repository.claimInvite(tx, digest);
      if (!tier) throw new HttpError(HttpStatus.FORBIDDEN, 'invalid invite');
      const inserted = await this.repository.insertUser(tx, {
        userId,
        email: request.email,
        passwordHash,
        tier,
      });
      if (!inserted) throw new HttpError(HttpStatus.CONFLICT, 'email already registered');
      const opened = await this.billing.createAccount(userId, tier);
      switch (opened.kind) {
        case 'created':
          break;
        case 'account_exists': // the id was made here a moment ago: billing is confused
        case 'invalid_request': // a body built here: a bug
          throw new UnexpectedUpstreamAnswerError(BILLING_UPSTREAM, 'POST /account', opened.status);
      }
      await this.repository.markInviteUsed(tx, digest, userId);
      return { user_id: userId, email: request.email, tier };
    });
  }

  /** Issues an access token; the same 401 for an unknown email and a wrong password. */
  async login(
    request: ParsedBody<typeof authApi.login>,
  ): Promise<{ access_token: string; token_type: 'Bearer'; expires_in: number }> {
    const email = request.email.trim().toLowerCase();
    const waitMs = await this.throttle.reserve(email);
    if (waitMs > 0) {
      throw new HttpError(HttpStatus.TOO_MANY_REQUESTS, 'too many failed logins; try again later', {
        retry_after_seconds: Math.ceil(waitMs / 1000),
      });
    }
    const user = await this.userWithPassword(email, request.password).catch(
      async (error: unknown) => {
        // The error that ended the attempt is the one to report, whatever the release does.
        await this.throttle.release(email).catch(() => undefined);
        throw error;
      },
    );
    if (!user) {
      // The reserved attempt stays counted: a failure.
      throw new HttpError(HttpStatus.UNAUTHORIZED, 'invalid credentials');
    }
    await this.throttle.recordSuccess(email);
    // Right after a password change, tokens of its second are revoked: wait for the next.
    const untilValid = user.tokensValidAfter * 1000 - Date.now();
    if (untilValid > 0) await sleep(untilValid);
    // The password may have changed while it was checked: a token for the old one is refused.
    if ((await this.repository.findById(user.userId))?.passwordHash !== user.passwordHash) {
      throw new HttpError(HttpStatus.UNAUTHORIZED, 'invalid credentials');
    }
    const { token, expiresIn } = await this.tokens.issue(user);
    return { access_token: token, token_type: 'Bearer', expires_in: expiresIn };
  }

  /**
   * Replaces the password of `userId` after checking the current one (throttled like a
   * login), and revokes every token of the user issued until now: all sessions end.
   */
  async changePassword(
    userId: string,
    request: ParsedBody<typeof authApi.changePassword>,
  ): Promise<void> {
    const user = await this.repository.findById(userId);
    const email = user?.email ?? `unknown:${userId}`;
    const waitMs = await this.throttle.reserve(email);
    if (waitMs > 0) {
      throw new HttpError(HttpStatus.TOO_MANY_REQUESTS, 'too many failed logins; try again later', {
        retry_after_seconds: Math.ceil(waitMs / 1000),
      });
    }
    let valid: boolean;
    try {
      valid = await this.hasher.verify(request.current_password, user?.passwordHash);
    } catch (error) {
      await this.throttle.release(email).catch(() => undefined);
      throw error;
    }
    if (!user || !valid) {
      // The reserved attempt stays counted: a failure.
      throw new HttpError(HttpStatus.UNAUTHORIZED, 'invalid credentials');
    }
    await this.throttle.recordSuccess(email);
    const passwordHash = await this.hasher.hash(request.new_password);
    // The next whole second: every token issued before the change has an earlier `iat`.
    const notBefore = Math.floor(Date.now() / 1000) + 1;
    await this.repository.changePassword(
      userId,
      passwordHash,
      notBefore,
      new Date((notBefore + this.tokens.lifetimeSeconds) * 1000),
    );
  }

  /** Ends the session of the token `jti` of `userId`, until the token's own expiry. */
  async revokeToken(request: ParsedBody<typeof authApi.revokeToken>): Promise<void> {
    const latest = Math.floor(Date.now() / 1000) + this.tokens.lifetimeSeconds + 60;
    if (request.expires_at > latest) {
      throw new HttpError(HttpStatus.BAD_REQUEST, 'expires_at is later than any token lives');
    }
    if (!(await this.repository.findById(request.user_id))) {
      throw new HttpError(HttpStatus.NOT_FOUND, 'user not found');
    }
    await this.repository.revokeToken(
      request.user_id,
      request.jti,
      new Date(request.expires_at * 1000),
    );
  }

  /** The user of `email` when `password` is theirs; the hash is checked even for no user. */
  private async userWithPassword(email: string, password: string) {
    const user = await this.repository.findByEmail(email);
    const valid = await this.hasher.verify(password, user?.passwordHash);
    return user && valid ? user : undefined;
  }
}
