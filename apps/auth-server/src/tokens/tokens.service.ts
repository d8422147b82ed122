import { Inject, Injectable } from '@nestjs/common';
import { errors, jwtVerify, SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import type { UserRow } from '../users/users.repository';
import { SigningKeyService, TOKEN_ALGORITHM } from './signing-key.service';
import { TOKEN_AUDIENCE, TOKEN_SETTINGS } from './tokens.constants';

/** A user access token this server signed, as {@link TokensService.verify} read it. */
export interface VerifiedUserToken {
  readonly userId: string;
  /** `aud`: the client the token was issued to (the backend). */
  readonly audience: string;
  readonly tokenId: string;
  /** Unix seconds. */
  readonly issuedAt: number;
  readonly expiresAt: number;
}

// The user ids and token ids this server hands out are UUIDs.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// A compact JWS in canonical base64url: one token, one spelling.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

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

  /**
   * Checks a user access token as the backend does (signature with this server's key, EdDSA,
   * `typ` JWT, `iss`, `aud` backend, `exp`, at most the configured lifetime) and reads it; a
   * service token, a token of another key or a malformed one is `undefined`. Whether its session
   * has ended is the repository's to say.
   */
  async verify(token: string, now: Date = new Date()): Promise<VerifiedUserToken | undefined> {
    if (!COMPACT_JWS.test(token)) return undefined;
    try {
      const { payload } = await jwtVerify(
        token,
        (header) => {
          const key = this.keys.verificationKey(header.kid);
          if (!key) throw new errors.JWKSNoMatchingKey();
          return key;
        },
        {
          issuer: this.settings.issuer,
          audience: TOKEN_AUDIENCE,
          algorithms: [TOKEN_ALGORITHM],
          typ: 'JWT',
          requiredClaims: ['exp', 'iat', 'sub', 'jti'],
          maxTokenAge: this.settings.ttlSeconds,
          currentDate: now,
        },
      );
      const { sub, jti, iat, exp } = payload as {
        sub: unknown;
        jti: unknown;
        iat: number;
        exp: number;
      };
      if (
        typeof sub !== 'string' ||
        !UUID.test(sub) ||
        typeof jti !== 'string' ||
        !UUID.test(jti)
      ) {
        return undefined;
      }
      if (exp - iat > this.settings.ttlSeconds) return undefined;
      return { userId: sub, audience: TOKEN_AUDIENCE, tokenId: jti, issuedAt: iat, expiresAt: exp };
    } catch (error) {
      if (error instanceof errors.JOSEError) return undefined;
      throw error;
    }
  }
}
