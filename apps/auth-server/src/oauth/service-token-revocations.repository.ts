import { Inject, Injectable } from '@nestjs/common';
import { DATABASE, type Database } from '@zt/database';

/**
 * How long after a revoked token's `exp` its row is kept: the token is refused as expired by
 * then whatever the clocks, and a row kept a little longer costs nothing.
 */
const FORGET_AFTER_EXPIRY_MS = 60_000;

/**
 * The service tokens their clients revoked (RFC 7009). A row is forgotten a minute after its
 * token expired, when the next revocation is recorded: the table holds at most the tokens
 * revoked within a token's lifetime plus that minute, and rows left by a quiet period.
 */
@Injectable()
export class ServiceTokenRevocationsRepository {
  constructor(@Inject(DATABASE) private readonly db: Database) {}

  /**
   * Records that the token `jti` of `clientId`, valid until `expiresAt`, is revoked (again:
   * nothing changes), and forgets revocations of tokens that expired more than
   * {@link FORGET_AFTER_EXPIRY_MS} before `now` (the auth server's clock, which judges expiry,
   * not the database's).
   */
  async revoke(jti: string, clientId: string, expiresAt: Date, now: Date): Promise<void> {
    const forgetBefore = new Date(now.getTime() - FORGET_AFTER_EXPIRY_MS).toISOString();
    await this.db.transaction(async (tx) => {
      await tx.query('DELETE FROM service_token_revocations WHERE expires_at <= $1', [
        forgetBefore,
      ]);
      await tx.query(
        `INSERT INTO service_token_revocations (jti, client_id, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (jti) DO NOTHING`,
        [jti, clientId, expiresAt.toISOString()],
      );
    });
  }

  async isRevoked(jti: string): Promise<boolean> {
    const result = await this.db.query('SELECT 1 FROM service_token_revocations WHERE jti = $1', [
      jti,
    ]);
    return result.rows.length > 0;
  }
}
