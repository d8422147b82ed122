import { Inject, Injectable, Logger } from '@nestjs/common';
import { USER_ID_PATTERN } from '@zt/service-utils';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type FlattenedJWSInput,
  type JWSHeaderParameters,
  type JWTHeaderParameters,
  jwtVerify,
  type JWTVerifyResult,
  type KeyLike,
  type ResolvedKey,
} from 'jose';
import { hash } from 'node:crypto';
import type { JwksConfig } from '../config/backend.config';
import { AuthUnavailableError } from './auth-unavailable.error';
import type { AuthenticatedUser } from './authenticated-user';
import {
  JWKS_PATH,
  MAX_REMEMBERED_TOKENS,
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
  /** How many verified tokens to remember at most; {@link MAX_REMEMBERED_TOKENS} when absent. */
  readonly maxRememberedTokens?: number;
}

/** A token that verified, kept under the SHA-256 of the whole compact token. */
interface RememberedToken {
  readonly user: AuthenticatedUser;
  /** The key object that checked its signature, as the key set handed it out. */
  readonly key: KeyLike | Uint8Array;
  readonly header: JWTHeaderParameters;
  /** `nbf` and `exp` in seconds since the epoch, compared as jose compares them. */
  readonly notBefore: number;
  readonly expiresAt: number;
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
 *
 * Tokens that verified are remembered (at most `maxRememberedTokens`, the oldest forgotten
 * first) until their `exp`, so a token seen before skips the Ed25519 check. Only the
 * signature check is skipped: the key is still looked up for every request, and a remembered
 * token counts only while that lookup returns the very key object that verified it.
 */
@Injectable()
export class UserTokenVerifier {
  private readonly logger = new Logger(UserTokenVerifier.name);
  private readonly remoteKeys: ReturnType<typeof createRemoteJWKSet>;
  private fetchFailure: string | undefined;
  // Insertion order is age order: the first key is the oldest entry.
  private readonly rememberedTokens = new Map<string, RememberedToken>();
  private readonly maxRememberedTokens: number;

  constructor(
    @Inject(USER_TOKEN_VERIFIER_OPTIONS) private readonly options: UserTokenVerifierOptions,
  ) {
    this.maxRememberedTokens = options.maxRememberedTokens ?? MAX_REMEMBERED_TOKENS;
    if (!Number.isSafeInteger(this.maxRememberedTokens) || this.maxRememberedTokens < 1) {
      throw new RangeError('maxRememberedTokens must be a positive integer');
    }
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
    const now = this.options.now?.() ?? new Date();
    const digest = hash('sha256', token, 'base64url');
    let result: JWTVerifyResult & ResolvedKey;
    try {
      const remembered = this.recall(digest, now);
      let knownKey: KeyLike | undefined;
      if (remembered) {
        // Which keys count is decided exactly as for a token never seen: the lookup (with its
        // refetch after JWKS_CACHE_MAX_AGE_MS or on an unknown kid, and its outage fallback)
        // runs every time, and a refetched key set hands out new key objects. So a key the
        // auth server withdrew stops being honoured when the verifier learns of it, never later.
        knownKey = await this.resolveKey(remembered.header, splitCompact(token));
        if (knownKey === remembered.key) return remembered.user;
        this.rememberedTokens.delete(digest);
      }
      // A known key was looked up just above: use it rather than fetching a second time.
      const resolved = knownKey;
      result = await jwtVerify(token, resolved ? () => resolved : this.resolveKey, {
        issuer: this.options.issuer,
        audience: TOKEN_AUDIENCE,
        algorithms: TOKEN_ALGORITHMS,
        requiredClaims: ['exp', 'sub'],
        currentDate: now,
      });
    } catch (error) {
      this.rememberedTokens.delete(digest);
      if (error instanceof AuthUnavailableError) throw error;
      if (error instanceof errors.JOSEError) throw new UserTokenRejectedError(error.code);
      throw error;
    }
    const { sub, email, exp, nbf } = result.payload;
    if (typeof sub !== 'string' || !USER_ID_PATTERN.test(sub)) {
      throw new UserTokenRejectedError('invalid_subject');
    }
    if (typeof email !== 'string' || email === '')
      throw new UserTokenRejectedError('invalid_email');
    // Frozen: the same object is handed to every request that presents this token.
    const user = Object.freeze({ userId: sub, email });
    this.remember(digest, {
      user,
      key: result.key,
      header: result.protectedHeader,
      notBefore: nbf ?? -Infinity,
      // jose checked that exp is present and a number.
      expiresAt: exp as number,
    });
    return user;
  }

  /**
   * The remembered verification of the token with this digest, if jose would still accept
   * its `nbf` and `exp` at `now` (no clock tolerance, as {@link verify} asks of jose). An
   * entry out of its time is forgotten, and the token verified from scratch.
   */
  private recall(digest: string, now: Date): RememberedToken | undefined {
    const remembered = this.rememberedTokens.get(digest);
    if (!remembered) return undefined;
    const seconds = Math.floor(now.getTime() / 1000);
    if (remembered.notBefore <= seconds && seconds < remembered.expiresAt) return remembered;
    this.rememberedTokens.delete(digest);
    return undefined;
  }

  private remember(digest: string, entry: RememberedToken): void {
    this.rememberedTokens.delete(digest);
    if (this.rememberedTokens.size >= this.maxRememberedTokens) {
      const oldest = this.rememberedTokens.keys().next();
      if (!oldest.done) this.rememberedTokens.delete(oldest.value);
    }
    this.rememberedTokens.set(digest, entry);
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

/** The parts of a compact JWS, as jose hands them to a key lookup. */
function splitCompact(token: string): FlattenedJWSInput {
  const [protectedHeader = '', payload = '', signature = ''] = token.split('.');
  return { protected: protectedHeader, payload, signature };
}

/** A short, secret-free name for why the key set could not be fetched. */
function describeFetchFailure(error: unknown): string {
  if (error instanceof errors.JOSEError) return error.code;
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.name : 'unknown';
}
