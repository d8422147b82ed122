import { Inject, Injectable } from '@nestjs/common';
import { DATABASE, type Database, type SqlExecutor } from '@zt/database';
import type { Tier } from './tiers';

/** A user as stored. */
export interface UserRow {
  readonly userId: string;
  readonly email: string;
  readonly passwordHash: string;
  readonly tier: Tier;
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
  async insertUser(tx: SqlExecutor, user: UserRow): Promise<boolean> {
    const result = await tx.query(
      `INSERT INTO users (user_id, email, password_hash, tier) VALUES ($1, $2, $3, $4)
       ON CONFLICT (email) DO NOTHING`,
      [user.userId, user.email, user.passwordHash, user.tier],
    );
    return result.rowCount === 1;
  }

  async findByEmail(email: string): Promise<UserRow | undefined> {
    const result = await this.db.query<{
      user_id: string;
      email: string;
      password_hash: string;
      tier: Tier;
    }>('SELECT user_id, email, password_hash, tier FROM users WHERE email = $1', [email]);
    const row = result.rows[0];
    return (
      row && {
        userId: row.user_id,
        email: row.email,
        passwordHash: row.password_hash,
        tier: row.tier,
      }
    );
  }

  async countUsers(): Promise<number> {
    const result = await this.db.query<{ n: bigint }>('SELECT count(*)::bigint AS n FROM users');
    return Number(result.rows[0].n);
  }
}
