import { Inject, Injectable, Logger } from '@nestjs/common';
import { USER_ID_PATTERN } from '@zt/service-utils';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type FlattenedJWSInput,
  type JWSHeaderParameters,
  jwtVerify,
  type KeyLike,
} from 'jose';
import type { JwksConfig } from '../config/backend.config';
import { AuthUnavailableError } from './auth-unavailable.error';
import type { AuthenticatedUser } from './authenticated-user';
import {
  JWKS_PATH,
  TOKEN_ALGORITHMS,
  TOKEN_AUDIENCE,
  USER_TOKEN_VERIFIER_OPTIONS,
} from './user-auth.constants';
import { UserTokenRejectedError } from './user-token-rejected.error';

/** What {@link UserTokenVerifier} needs. */
export interface UserTokenVerifierOptions {
  /** The auth server's URL (`AUTH_SERVER_URL`): the required `iss`, and the JWKS's home. */
  readonly issuer: string;
  readonly jwks: JwksConfig;
  /** The current time (tests freeze it); the system clock when absent. */
  readonly now?: () => Date;
}

// Errors of choosing a key for a token: the token's fault (a forged or stale `kid`), not the
// key server's. Any other failure of the key lookup is a failed fetch of the key set.
const KEY_SELECTION_ERRORS = [errors.JWKSNoMatchingKey, errors.JWKSMultipleMatchingKeys];

/**
 * Verifies user access tokens locally against the auth server's JWKS with jose: signature
 * (EdDSA only), `iss` = the auth server, `aud` = `backend`, `exp` required and not passed,
 * `sub` a valid user id, `email` a string.
 *
 * Keys are cached (`JWKS_CACHE_MAX_AGE_MS`) and refetched when a token names an unknown `kid`
 * (at most once per `JWKS_COOLDOWN_MS`). When a fetch fails, keys fetched earlier still
 * verify the tokens they fit, so an auth outage does not lock out users whose keys are known;
 * only when no known key fits is the answer {@link AuthUnavailableError}.
 */
@Injectable()
export class UserTokenVerifier {
  private readonly logger = new Logger(UserTokenVerifier.name);
  private readonly remoteKeys: ReturnType<typeof createRemoteJWKSet>;
  private fetchFailure: string | undefined;

  constructor(
    @Inject(USER_TOKEN_VERIFIER_OPTIONS) private readonly options: UserTokenVerifierOptions,
  ) {
    this.remoteKeys = createRemoteJWKSet(new URL(`${options.issuer}${JWKS_PATH}`), {
      timeoutDuration: options.jwks.timeoutMs,
      cooldownDuration: options.jwks.cooldownMs,
      cacheMaxAge: options.jwks.cacheMaxAgeMs,
    });
  }

  /**
   * @returns the user the token names.
   * @throws UserTokenRejectedError when the token does not verify (401).
   * @throws AuthUnavailableError when no key to check it could be had (503).
   */
  async verify(token: string): Promise<AuthenticatedUser> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.resolveKey, {
        issuer: this.options.issuer,
        audience: TOKEN_AUDIENCE,
        algorithms: TOKEN_ALGORITHMS,
        requiredClaims: ['exp', 'sub'],
        currentDate: this.options.now?.(),
      }));
    } catch (error) {
      if (error instanceof AuthUnavailableError) throw error;
      if (error instanceof errors.JOSEError) throw new UserTokenRejectedError(error.code);
      throw error;
    }
    const { sub, email } = payload;
    if (typeof sub !== 'string' || !USER_ID_PATTERN.test(sub)) {
      throw new UserTokenRejectedError('invalid_subject');
    }
    if (typeof email !== 'string' || email === '')
      throw new UserTokenRejectedError('invalid_email');
    return { userId: sub, email };
  }

  private readonly resolveKey = async (
    header: JWSHeaderParameters,
    token: FlattenedJWSInput,
  ): Promise<KeyLike> => {
    let key: KeyLike;
    try {
      key = await this.remoteKeys(header, token);
    } catch (error) {
      if (KEY_SELECTION_ERRORS.some((type) => error instanceof type)) throw error;
      const reason = describeFetchFailure(error);
      this.reportFetchState(reason);
      const known = this.remoteKeys.jwks();
      if (known) {
        try {
          return await createLocalJWKSet(known)(header, token);
        } catch (fallbackError) {
          if (!(fallbackError instanceof errors.JWKSNoMatchingKey)) throw fallbackError;
        }
      }
      throw new AuthUnavailableError(reason);
    }
    this.reportFetchState(undefined);
    return key;
  };

  // One log line when fetching the keys starts failing and one when it works again, not one
  // per request during an outage.
  private reportFetchState(failure: string | undefined): void {
    if (failure !== undefined && this.fetchFailure === undefined) {
      this.logger.warn({
        event: 'jwks_fetch_failed',
        reason: failure,
        cached_keys: this.remoteKeys.jwks() !== undefined,
      });
    } else if (failure === undefined && this.fetchFailure !== undefined) {
      this.logger.log({ event: 'jwks_fetch_recovered' });
    }
    this.fetchFailure = failure;
  }
}

/** A short, secret-free name for why the key set could not be fetched. */
function describeFetchFailure(error: unknown): string {
  if (error instanceof errors.JOSEError) return error.code;
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.name : 'unknown';
}
