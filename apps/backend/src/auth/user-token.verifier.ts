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
  MAX_TOKEN_LIFETIME_SECONDS,
  TOKEN_ALGORITHMS,
  TOKEN_AUDIENCE,
  TOKEN_TYPE,
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

// The auth server's token ids are UUIDs; a revocation names one.
const TOKEN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The least time between a failed fetch of the key set and the next try. */
export const RETRY_FAILED_FETCH_AFTER_MS = 5_000;

/** A failed fetch of the key set, and the keys known then, used until the next try. */
interface FailedFetch {
  readonly at: number;
  readonly reason: string;
  readonly knownKeys: ReturnType<typeof createLocalJWKSet> | undefined;
}

/**
 * Verifies user access tokens locally against the auth server's JWKS with jose: each part
 * of the token in canonical base64url (one token, one spelling), signature (EdDSA only),
 * `typ` = `JWT`, `iss` = the auth server, `aud` = `backend`, `iat` not in the future, `exp`
 * not passed and at most {@link MAX_TOKEN_LIFETIME_SECONDS} after `iat` (and the token no
 * older than that, whatever its `exp` says), `sub` a valid user id, `email` a string.
 *
 * Keys are cached (`JWKS_CACHE_MAX_AGE_MS`) and refetched when a token names an unknown `kid`
 * (at most once per `JWKS_COOLDOWN_MS`). When a fetch fails, keys fetched earlier still
 * verify the tokens they fit, so an auth outage does not lock out users whose keys are known;
 * only when no known key fits is the answer {@link AuthUnavailableError}. A failed fetch is
 * not tried again for {@link RETRY_FAILED_FETCH_AFTER_MS} (or the cooldown, when shorter): a
 * key server that hangs costs one request its timeout in that time, not every request, and
 * its return is noticed within it.
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
  private failedFetch: FailedFetch | undefined;
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
    const now = this.now();
    if (!isCanonicalCompact(token)) throw new UserTokenRejectedError('non_canonical_encoding');
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
        typ: TOKEN_TYPE,
        requiredClaims: ['exp', 'iat', 'sub', 'jti'],
        maxTokenAge: MAX_TOKEN_LIFETIME_SECONDS,
        currentDate: now,
      });
    } catch (error) {
      this.rememberedTokens.delete(digest);
      if (error instanceof AuthUnavailableError) throw error;
      if (error instanceof errors.JOSEError) throw new UserTokenRejectedError(error.code);
      throw error;
    }
    // jose checked that exp and iat are numbers, iat not in the future.
    const { sub, email, nbf, jti } = result.payload;
    const exp = result.payload.exp as number;
    const iat = result.payload.iat as number;
    if (exp - iat > MAX_TOKEN_LIFETIME_SECONDS) {
      throw new UserTokenRejectedError('lifetime_too_long');
    }
    if (typeof sub !== 'string' || !USER_ID_PATTERN.test(sub)) {
      throw new UserTokenRejectedError('invalid_subject');
    }
    if (typeof email !== 'string' || email === '')
      throw new UserTokenRejectedError('invalid_email');
    if (typeof jti !== 'string' || !TOKEN_ID.test(jti)) {
      throw new UserTokenRejectedError('invalid_token_id');
    }
    // Frozen: the same object is handed to every request that presents this token.
    const user = Object.freeze({ userId: sub, email, tokenId: jti, issuedAt: iat, expiresAt: exp });
    this.remember(digest, {
      user,
      key: result.key,
      header: result.protectedHeader,
      notBefore: Math.max(nbf ?? -Infinity, iat),
      expiresAt: exp,
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
    const failed = this.failedFetch;
    const retryAfterMs = Math.min(this.options.jwks.cooldownMs, RETRY_FAILED_FETCH_AFTER_MS);
    if (failed && this.now().getTime() - failed.at < retryAfterMs) {
      return this.withKnownKeys(failed, header, token);
    }
    let key: KeyLike;
    try {
      key = await this.remoteKeys(header, token);
    } catch (error) {
      if (KEY_SELECTION_ERRORS.some((type) => error instanceof type)) throw error;
      const reason = describeFetchFailure(error);
      this.reportFetchState(reason);
      const known = this.remoteKeys.jwks();
      // Made once per failure, so its key objects stay the same until the next fetch.
      this.failedFetch = {
        at: this.now().getTime(),
        reason,
        knownKeys: known && createLocalJWKSet(known),
      };
      return this.withKnownKeys(this.failedFetch, header, token);
    }
    this.failedFetch = undefined;
    this.reportFetchState(undefined);
    return key;
  };

  /** The key for `header` among those known when fetching failed; else auth is unavailable. */
  private async withKnownKeys(
    failed: FailedFetch,
    header: JWSHeaderParameters,
    token: FlattenedJWSInput,
  ): Promise<KeyLike> {
    if (failed.knownKeys) {
      try {
        return await failed.knownKeys(header, token);
      } catch (error) {
        if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      }
    }
    throw new AuthUnavailableError(failed.reason);
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

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

/**
 * False when `token` is three parts of base64url and one is not in canonical form: base64url
 * has spare bits in its last character, so one signature has several spellings, each a
 * different token string (and a different entry among the remembered tokens).
 */
function isCanonicalCompact(token: string): boolean {
  // Anything else is no compact JWS at all: jose refuses it with its own reason.
  if (!/^[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/.test(token)) return true;
  return token
    .split('.')
    .every((part) => Buffer.from(part, 'base64url').toString('base64url') === part);
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
