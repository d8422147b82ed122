import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { authApi } from '@zt/contracts';
import { type AuthenticatedUser } from './authenticated-user';
import { AuthSessionsClient, type SessionsOptions } from './auth-sessions.client';
import { SESSIONS_OPTIONS } from './user-auth.constants';

/**
 * The sessions that have ended, as the auth server's revocation feed says: tokens revoked by
 * their `jti` (logout), and per user the second before which every token is revoked (password
 * change). Read every `REVOCATION_POLL_MS` and at start; what this backend revokes itself
 * counts at once. Entries are forgotten when the tokens they name have expired.
 *
 * While the feed cannot be read, the last known list keeps applying (and the failure is
 * logged once): a revocation made meanwhile elsewhere counts once the feed answers again.
 */
@Injectable()
export class RevocationList implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RevocationList.name);
  private readonly tokens = new Map<string, number>();
  private readonly users = new Map<string, { notBefore: number; expiresAt: number }>();
  private lastSeq = '0';
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private feedDown = false;

  constructor(
    private readonly auth: AuthSessionsClient,
    @Inject(SESSIONS_OPTIONS) private readonly options: SessionsOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.poll();
    this.timer = setInterval(() => void this.poll(), this.options.pollIntervalMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.polling;
  }

  /** True when the session of `user`'s token has ended. */
  isRevoked(user: AuthenticatedUser): boolean {
    if (this.tokens.has(user.tokenId)) return true;
    const cutoff = this.users.get(user.userId);
    return cutoff !== undefined && user.issuedAt < cutoff.notBefore;
  }

  /** Counts the revocation of `user`'s token at once (this backend made it). */
  revokeLocally(user: AuthenticatedUser): void {
    this.tokens.set(user.tokenId, user.expiresAt);
  }

  /** Reads the feed from where it was left; one read at a time. */
  poll(): Promise<void> {
    this.polling ??= this.readFeed().finally(() => (this.polling = undefined));
    return this.polling;
  }

  private async readFeed(): Promise<void> {
    try {
      for (;;) {
        const answer = await this.auth.revocations(this.lastSeq);
        if (answer.kind !== 'ok') throw new Error(`GET /revocations answered ${answer.status}`);
        for (const revocation of answer.body.revocations) this.apply(revocation);
        if (!answer.body.next_after) break;
      }
      if (this.feedDown) this.logger.log({ event: 'revocation_feed_restored' });
      this.feedDown = false;
    } catch (error) {
      if (!this.feedDown) {
        this.logger.warn({
          event: 'revocation_feed_unavailable',
          error: (error as Error).message,
        });
      }
      this.feedDown = true;
    }
    this.forgetExpired();
  }

  private apply(revocation: authApi.Revocation): void {
    if (revocation.jti !== null) this.tokens.set(revocation.jti, revocation.expires_at);
    if (revocation.not_before !== null) {
      const known = this.users.get(revocation.user_id);
      if (!known || known.notBefore < revocation.not_before) {
        this.users.set(revocation.user_id, {
          notBefore: revocation.not_before,
          expiresAt: revocation.expires_at,
        });
      }
    }
    this.lastSeq = revocation.seq;
  }

  private forgetExpired(): void {
    const now = Date.now() / 1000;
    for (const [jti, expiresAt] of this.tokens) if (expiresAt <= now) this.tokens.delete(jti);
    for (const [userId, cutoff] of this.users) {
      if (cutoff.expiresAt <= now) this.users.delete(userId);
    }
  }
}
