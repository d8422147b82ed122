import { Inject, Injectable } from '@nestjs/common';
import { SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import type { UserRow } from '../users/users.repository';
import { SigningKeyService, TOKEN_ALGORITHM } from './signing-key.service';
import { TOKEN_AUDIENCE, TOKEN_SETTINGS } from './tokens.constants';

/** Issues access tokens: `iss` this server, `aud` backend, `sub` the user id, short-lived. */
@Injectable()
export class TokensService {
  constructor(
    private readonly keys: SigningKeyService,
    @Inject(TOKEN_SETTINGS) private readonly settings: { issuer: string; ttlSeconds: number },
  ) {}

  /** How long an issued token lives, in seconds. */
  get lifetimeSeconds(): number {
    return this.settings.ttlSeconds;
  }

  async issue(user: UserRow): Promise<{ token: string; expiresIn: number }> {
    const { key, kid } = this.keys.signing();
    const token = await new SignJWT({ email: user.email })
      .setProtectedHeader({ alg: TOKEN_ALGORITHM, kid, typ: 'JWT' })
      .setIssuer(this.settings.issuer)
      .setAudience(TOKEN_AUDIENCE)
      .setSubject(user.userId)
      .setIssuedAt()
      .setExpirationTime(`${this.settings.ttlSeconds}s`)
      .setJti(randomUUID())
      .sign(key);
    return { token, expiresIn: this.settings.ttlSeconds };
  }
}
