import { Inject, Injectable } from '@nestjs/common';
import { JwtVerifier, TokenRejectedError, USER_ID_PATTERN } from '@zt/service-utils';
import type { JWTPayload } from 'jose';
import type { JwksConfig } from '../config/backend.config';
import type { AuthenticatedUser } from './authenticated-user';
import {
  JWKS_PATH,
  MAX_TOKEN_LIFETIME_SECONDS,
  TOKEN_AUDIENCE,
  TOKEN_TYPE,
  USER_TOKEN_VERIFIER_OPTIONS,
} from './user-auth.constants';

/** What {@link UserTokenVerifier} needs. */
export interface UserTokenVerifierOptions {
  /** The auth server's URL (`AUTH_SERVER_URL`): the required `iss`, and the JWKS's home. */
  readonly issuer: string;
  readonly jwks: JwksConfig;
  /** The current time (tests freeze it); the system clock when absent. */
  readonly now?: () => Date;
  /** How many verified tokens to remember at most; the kit's default when absent. */
  readonly maxRememberedTokens?: number;
}

// The auth server's token ids are UUIDs; a revocation names one.
const TOKEN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Verifies user access tokens with the kit's {@link JwtVerifier} (signature against the auth
 * server's JWKS, EdDSA only, `iss`, lifetime, remembered until `exp`, outage fallback) for the
 * user-token profile: `typ` = `JWT`, `aud` = `backend`, at most
 * {@link MAX_TOKEN_LIFETIME_SECONDS}, `sub` a valid user id, `email` a string, `jti` a UUID.
 * A service token (`typ` `at+jwt`) never passes, nor a token for another audience.
 */
@Injectable()
export class UserTokenVerifier {
  private readonly tokens: JwtVerifier<AuthenticatedUser>;

  constructor(@Inject(USER_TOKEN_VERIFIER_OPTIONS) options: UserTokenVerifierOptions) {
    this.tokens = new JwtVerifier({
      issuer: options.issuer,
      jwksUrl: new URL(`${options.issuer}${JWKS_PATH}`),
      audience: TOKEN_AUDIENCE,
      type: TOKEN_TYPE,
      maxLifetimeSeconds: MAX_TOKEN_LIFETIME_SECONDS,
      requiredClaims: ['sub', 'jti'],
      readClaims: readUser,
      keySet: options.jwks,
      now: options.now,
      maxRememberedTokens: options.maxRememberedTokens,
    });
  }

  /**
   * @returns the user the token names.
   * @throws TokenRejectedError when the token does not verify (401).
   * @throws KeySetUnavailableError when no key to check it could be had (503).
   */
  verify(token: string): Promise<AuthenticatedUser> {
    return this.tokens.verify(token);
  }
}

function readUser({ sub, email, jti, iat, exp }: JWTPayload): AuthenticatedUser {
  if (typeof sub !== 'string' || !USER_ID_PATTERN.test(sub)) {
    throw new TokenRejectedError('invalid_subject');
  }
  if (typeof email !== 'string' || email === '') throw new TokenRejectedError('invalid_email');
  if (typeof jti !== 'string' || !TOKEN_ID.test(jti)) {
    throw new TokenRejectedError('invalid_token_id');
  }
  // The verifier checked that exp and iat are numbers.
  return { userId: sub, email, tokenId: jti, issuedAt: iat as number, expiresAt: exp as number };
}
