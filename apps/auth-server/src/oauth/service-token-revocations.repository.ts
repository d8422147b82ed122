import { Inject, Injectable } from '@nestjs/common';
import { DATABASE, type Database } from '@zt/database';

/** The service tokens their clients revoked (RFC 7009), kept until they expire. */
@Injectable()
export class ServiceTokenRevocations {
  constructor(@Inject(DATABASE) private readonly db: Database) {}

  /**
   * Records that the token `jti` of `clientId`, valid until `expiresAt`, is revoked (again:
   * nothing changes), and forgets revocations of tokens that have expired since.
   */
  async revoke(jti: string, clientId: string, expiresAt: Date): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query('DELETE FROM service_token_revocations WHERE expires_at <= now()');
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
