import { Inject, Injectable } from '@nestjs/common';
import { DATABASE, type Database, type SqlExecutor } from '@zt/database';
import type { Tier } from '@zt/contracts';

/** A user as stored. */
export interface UserRow {
  readonly userId: string;
  readonly email: string;
  readonly passwordHash: string;
  readonly tier: Tier;
  /** Unix seconds: tokens issued before are revoked (0 when the password never changed). */
  readonly tokensValidAfter: number;
}

/** A revocation as stored: of one token (`jti`), or of a user's tokens issued before `notBefore`. */
export interface RevocationRow {
  readonly seq: bigint;
  readonly userId: string;
  readonly jti: string | null;
  /** Unix seconds. */
  readonly notBefore: number | null;
  /** When the tokens it names have all expired; the row is forgotten after. */
  readonly expiresAt: Date;
}

/** Every SQL statement of the auth server. */
@Injectable()
export class UsersRepository {
  constructor(@Inject(DATABASE) private readonly db: Database) {}

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.db.transaction(work);
  }

  async createInvite(codeDigest: string, tier: Tier): Promise<void> {
    await this.db.query('INSERT INTO invites (code_digest, tier) VALUES ($1, $2)', [
      codeDigest,
      tier,
    ]);
  }

  /** True when an invite with this digest exists and has not been used (no lock taken). */
  async isInviteUsable(codeDigest: string): Promise<boolean> {
    const result = await this.db.query(
      'SELECT 1 FROM invites WHERE code_digest = $1 AND used_at IS NULL',
      [codeDigest],
    );
    return result.rows.length === 1;
  }

  /** Locks an unused invite for the rest of the transaction. @returns its tier, or undefined. */
  async claimInvite(tx: SqlExecutor, codeDigest: string): Promise<Tier | undefined> {
    const result = await tx.query<{ tier: Tier }>(
      'SELECT tier FROM invites WHERE code_digest = $1 AND used_at IS NULL FOR UPDATE',
      [codeDigest],
    );
    return result.rows[0]?.tier;
  }

  async markInviteUsed(tx: SqlExecutor, codeDigest: string, userId: string): Promise<void> {
    await tx.query('UPDATE invites SET used_at = now(), used_by = $2 WHERE code_digest = $1', [
      codeDigest,
      userId,
    ]);
  }

  /** @returns false when the email is taken (by a committed or concurrent registration). */
  async insertUser(tx: SqlExecutor, user: Omit<UserRow, 'tokensValidAfter'>): Promise<boolean> {
    const result = await tx.query(
      `INSERT INTO users (user_id, email, password_hash, tier) VALUES ($1, $2, $3, $4)
       ON CONFLICT (email) DO NOTHING`,
      [user.userId, user.email, user.passwordHash, user.tier],
    );
    return result.rowCount === 1;
  }

  async findByEmail(email: string): Promise<UserRow | undefined> {
    return this.findOne('email', email);
  }

  async findById(userId: string): Promise<UserRow | undefined> {
    return this.findOne('user_id', userId);
  }

  /**
   * Replaces the password of `userId` and revokes every token issued before `notBefore`
   * (unix seconds): the new hash and the revocation are one change.
   */
  async changePassword(
    userId: string,
    passwordHash: string,
    notBefore: number,
    revocationExpiresAt: Date,
  ): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query(
        'UPDATE users SET password_hash = $2, tokens_valid_after = $3 WHERE user_id = $1',
        [userId, passwordHash, notBefore],
      );
      await this.appendRevocation(tx, {
        userId,
        jti: null,
        notBefore,
        expiresAt: revocationExpiresAt,
      });
    });
  }

  /** Revokes the token `jti` of `userId` until `expiresAt` (once: a second call changes nothing). */
  async revokeToken(userId: string, jti: string, expiresAt: Date): Promise<void> {
    await this.db.transaction((tx) =>
      this.appendRevocation(tx, { userId, jti, notBefore: null, expiresAt }),
    );
  }

  /** Revocations after `afterSeq` whose tokens have not expired, oldest first. */
  async listRevocations(afterSeq: bigint, limit: number): Promise<RevocationRow[]> {
    const result = await this.db.query<{
      seq: bigint;
      user_id: string;
      jti: string | null;
      not_before: bigint | null;
      expires_at: Date | string;
    }>(
      `SELECT seq, user_id, jti, not_before, expires_at FROM revocations
       WHERE seq > $1::bigint AND expires_at > now() ORDER BY seq LIMIT $2`,
      [afterSeq.toString(), limit],
    );
    return result.rows.map((row) => ({
      seq: row.seq,
      userId: row.user_id,
      jti: row.jti,
      notBefore: row.not_before === null ? null : Number(row.not_before),
      expiresAt: new Date(row.expires_at),
    }));
  }

  /**
   * True while the session of the token `jti`, issued at `issuedAt` (unix seconds) to `userId`,
   * has not ended: the user exists, no password change since, and the token is not revoked.
   */
  async isSessionActive(userId: string, jti: string, issuedAt: number): Promise<boolean> {
    const result = await this.db.query<{ tokens_valid_after: bigint | string; revoked: boolean }>(
      `SELECT u.tokens_valid_after,
              EXISTS (SELECT 1 FROM revocations r WHERE r.jti = $2::uuid) AS revoked
         FROM users u WHERE u.user_id = $1::uuid`,
      [userId, jti],
    );
    const row = result.rows[0];
    return row !== undefined && !row.revoked && issuedAt >= Number(row.tokens_valid_after);
  }

  /** Forgets revocations whose tokens expired. @returns how many. */
  async purgeRevocations(): Promise<number> {
    return (await this.db.query('DELETE FROM revocations WHERE expires_at <= now()')).rowCount;
  }

  private async appendRevocation(
    tx: SqlExecutor,
    revocation: Omit<RevocationRow, 'seq'>,
  ): Promise<void> {
    // One writer at a time, so revocations commit in `seq` order and a reader that asks for
    // those after the last `seq` it saw never misses one committed late.
    await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('auth/revocations', 0))`);
    await tx.query(
      `INSERT INTO revocations (user_id, jti, not_before, expires_at)
       VALUES ($1, $2, $3, $4) ON CONFLICT (jti) DO NOTHING`,
      [revocation.userId, revocation.jti, revocation.notBefore, revocation.expiresAt.toISOString()],
    );
  }

  private async findOne(column: 'email' | 'user_id', value: string): Promise<UserRow | undefined> {
    const result = await this.db.query<{
      user_id: string;
      email: string;
      password_hash: string;
      tier: Tier;
      tokens_valid_after: bigint;
    }>(
      `SELECT user_id, email, password_hash, tier, tokens_valid_after FROM users WHERE ${column} = $1`,
      [value],
    );
    const row = result.rows[0];
    return (
      row && {
        userId: row.user_id,
        email: row.email,
        passwordHash: row.password_hash,
        tier: row.tier,
        tokensValidAfter: Number(row.tokens_valid_after),
      }
    );
  }

  async countUsers(): Promise<number> {
    const result = await this.db.query<{ n: bigint }>('SELECT count(*)::bigint AS n FROM users');
    return Number(result.rows[0].n);
  }
}
