import { Logger } from '@nestjs/common';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type ExportedJWKSCache,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  jwksCache,
  type JWKSCacheInput,
  type JWSHeaderParameters,
  type JWTHeaderParameters,
  type JWTPayload,
  jwtVerify,
  type JWTVerifyResult,
  type KeyLike,
  type ResolvedKey,
} from 'jose';
import { hash } from 'node:crypto';
import { KeySetUnavailableError, TokenRejectedError } from './token-errors';

/** How the issuer's key set is fetched and kept. */
export interface KeySetOptions {
  /** Deadline of one fetch. */
  readonly timeoutMs: number;
  /** The shortest time between two fetches caused by tokens with an unknown `kid`. */
  readonly cooldownMs: number;
  /** How long fetched keys count as fresh before the next token refetches them. */
  readonly cacheMaxAgeMs: number;
}

/** What a token must be to verify: one kind of token from one issuer for one audience. */
export interface TokenProfile<T> {
  /** The required `iss`. */
  readonly issuer: string;
  /** Where the issuer publishes its public keys (a JWKS). */
  readonly jwksUrl: URL;
  /** The required `aud`: this service. */
  readonly audience: string;
  /** The required `typ` header, which tells kinds of token apart (`at+jwt`: RFC 9068). */
  readonly type: string;
  /** The longest a token may live: `exp - iat`, and its age whatever `exp` says. */
  readonly maxLifetimeSeconds: number;
  /** Claims that must be present besides `exp` and `iat`, which always must. */
  readonly requiredClaims: readonly string[];
  /**
   * Turns the verified claims into what the caller uses.
   * @throws TokenRejectedError for claims this kind of token may not have.
   */
  readonly readClaims: (payload: JWTPayload) => T;
}

/** What {@link JwtVerifier} needs. */
export interface JwtVerifierOptions<T> extends TokenProfile<T> {
  readonly keySet: KeySetOptions;
  /** The current time (tests freeze it); the system clock when absent. */
  readonly now?: () => Date;
  /** How many verified tokens to remember at most; {@link MAX_REMEMBERED_TOKENS} when absent. */
  readonly maxRememberedTokens?: number;
}

/** How many verified tokens a verifier remembers by default (oldest forgotten first). */
export const MAX_REMEMBERED_TOKENS = 10_000;

/** The least time between a failed fetch of the key set and the next try. */
export const RETRY_FAILED_FETCH_AFTER_MS = 5_000;

// The issuer signs with Ed25519; nothing else is accepted, `none` and HMAC least of all.
const ALGORITHMS = ['EdDSA'];

/** A token that verified, kept under the SHA-256 of the whole compact token. */
interface RememberedToken<T> {
  readonly claims: T;
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

/** A failed fetch of the key set, and the keys known then, used until the next try. */
interface FailedFetch {
  readonly at: number;
  readonly reason: string;
  readonly knownKeys: ReturnType<typeof createLocalJWKSet> | undefined;
}

/**
 * Verifies JWTs locally against their issuer's JWKS with jose: each part of the token in
 * canonical base64url (one token, one spelling), signature (EdDSA only), `typ`, `iss`, `aud`,
 * `iat` not in the future, `exp` not passed and at most `maxLifetimeSeconds` after `iat` (and
 * the token no older than that, whatever its `exp` says), then the profile's own claims.
 *
 * Keys are cached (`cacheMaxAgeMs`) and refetched when a token names an unknown `kid` (at
 * most once per `cooldownMs`). When a fetch fails, keys fetched earlier still verify the
 * tokens they fit, so an issuer outage does not lock out callers whose keys are known; only
 * when no known key fits is the answer {@link KeySetUnavailableError}. A failed fetch is not
 * tried again for {@link RETRY_FAILED_FETCH_AFTER_MS} (or the cooldown, when shorter): a key
 * server that hangs costs one request its timeout in that time, not every request, and its
 * return is noticed within it.
 *
 * Tokens that verified are remembered (at most `maxRememberedTokens`, the oldest forgotten
 * first) until their `exp`, so a token seen before skips the Ed25519 check. It skips the key
 * lookup too, but only while that lookup could not answer otherwise: the key set that handed
 * out the token's key is still the one in use, still fresh (younger than `cacheMaxAgeMs`, so
 * the lookup would not refetch it), no fetch of it is under way and none has failed since.
 * Otherwise the key is looked up as for a token never seen, and a remembered token counts
 * only while that lookup returns the very key object that verified it.
 */
export class JwtVerifier<T> {
  private readonly logger = new Logger(JwtVerifier.name);
  private readonly remoteKeys: ReturnType<typeof createRemoteJWKSet>;
  // jose (its `jwksCache` option) stores each key set it fetches here, a new object per fetch;
  // nothing else writes it, and it starts empty, so it seeds nothing. `fetched.jwks` names the
  // key set that the lookup hands keys out of now.
  private readonly fetched: Partial<ExportedJWKSCache> = {};
  // The key set each key object was handed out of, for keys looked up while no fetch landed.
  private readonly keySetOf = new WeakMap<KeyLike | Uint8Array, JSONWebKeySet>();
  private fetchFailure: string | undefined;
  private failedFetch: FailedFetch | undefined;
  // Insertion order is age order: the first key is the oldest entry.
  private readonly rememberedTokens = new Map<string, RememberedToken<T>>();
  private readonly maxRememberedTokens: number;

  constructor(private readonly options: JwtVerifierOptions<T>) {
    this.maxRememberedTokens = options.maxRememberedTokens ?? MAX_REMEMBERED_TOKENS;
    if (!Number.isSafeInteger(this.maxRememberedTokens) || this.maxRememberedTokens < 1) {
      throw new RangeError('maxRememberedTokens must be a positive integer');
    }
    this.remoteKeys = createRemoteJWKSet(options.jwksUrl, {
      timeoutDuration: options.keySet.timeoutMs,
      cooldownDuration: options.keySet.cooldownMs,
      cacheMaxAge: options.keySet.cacheMaxAgeMs,
      // Starts empty, so jose fetches the key set as it would without it.
      [jwksCache]: this.fetched as JWKSCacheInput,
    });
  }

  /**
   * Fetches the key set now, before a token asks for it, and never throws. A process that
   * starts while the issuer answers can then verify tokens even if the issuer goes away just
   * after: in a rolling restart that replaces a callee and then the issuer, the callee's first
   * fetch would otherwise wait for an issuer that is itself waiting for that callee (its
   * requests in flight). A failure is expected when the callee starts before the issuer, so it
   * is only a debug line; the first token fetches again.
   */
  async prefetchKeys(): Promise<void> {
    try {
      await this.remoteKeys.reload();
    } catch (error) {
      this.logger.debug({
        event: 'jwks_prefetch_failed',
        issuer: this.options.issuer,
        reason: describeFetchFailure(error),
      });
    }
  }

  /**
   * What {@link verify} would answer for `token` without a key lookup or a signature check,
   * synchronously: its claims when it verified before, is within its `nbf` and `exp`, and the
   * key set that handed out its key is still the one in use and fresh; otherwise `undefined`
   * (then call {@link verify}). The verifier learns that the issuer withdrew a key only by
   * fetching the key set, and every fetch replaces the key set, so a key the issuer withdrew
   * stops being honoured when the verifier learns of it, never later.
   */
  verifiedBefore(token: string): T | undefined {
    const remembered = this.recall(hash('sha256', token, 'base64url'), this.now());
    return remembered && this.wouldLookUpSameKey(remembered.key) ? remembered.claims : undefined;
  }

  /**
   * @returns what the profile reads from the token's claims (frozen: the same object is
   *   handed to every request that presents this token).
   * @throws TokenRejectedError when the token does not verify.
   * @throws KeySetUnavailableError when no key to check it could be had.
   */
  async verify(token: string): Promise<T> {
    const known = this.verifiedBefore(token);
    if (known !== undefined) return known;
    const now = this.now();
    const digest = hash('sha256', token, 'base64url');
    const remembered = this.recall(digest, now);
    // A remembered token passed this check when it was verified, and the check depends on the
    // token alone: only a token not remembered needs it. (The digest is of the token's UTF-8:
    // two strings with the same UTF-8 differ only in unpaired surrogates and U+FFFD, which
    // fail the check's pattern in both, so the check answers both alike.)
    if (!remembered && !isCanonicalCompact(token)) {
      throw new TokenRejectedError('non_canonical_encoding');
    }
    let result: JWTVerifyResult & ResolvedKey;
    try {
      let knownKey: KeyLike | undefined;
      if (remembered) {
        // Which keys count is decided exactly as for a token never seen: the lookup (with its
        // refetch after cacheMaxAgeMs or on an unknown kid, and its outage fallback) runs,
        // and a refetched key set hands out new key objects.
        knownKey = await this.resolveKey(remembered.header, splitCompact(token));
        if (knownKey === remembered.key) return remembered.claims;
        this.rememberedTokens.delete(digest);
      }
      // A known key was looked up just above: use it rather than fetching a second time.
      const resolved = knownKey;
      result = await jwtVerify(token, resolved ? () => resolved : this.resolveKey, {
        issuer: this.options.issuer,
        audience: this.options.audience,
        algorithms: ALGORITHMS,
        typ: this.options.type,
        requiredClaims: ['exp', 'iat', ...this.options.requiredClaims],
        maxTokenAge: this.options.maxLifetimeSeconds,
        currentDate: now,
      });
    } catch (error) {
      this.rememberedTokens.delete(digest);
      if (error instanceof KeySetUnavailableError) throw error;
      if (error instanceof errors.JOSEError) throw new TokenRejectedError(error.code);
      throw error;
    }
    // jose checked that exp and iat are numbers, iat not in the future.
    const exp = result.payload.exp as number;
    const iat = result.payload.iat as number;
    if (exp - iat > this.options.maxLifetimeSeconds) {
      throw new TokenRejectedError('lifetime_too_long');
    }
    const claims = Object.freeze(this.options.readClaims(result.payload));
    this.remember(digest, {
      claims,
      key: result.key,
      header: result.protectedHeader,
      notBefore: Math.max(result.payload.nbf ?? -Infinity, iat),
      expiresAt: exp,
    });
    return claims;
  }

  /**
   * The remembered verification of the token with this digest, if jose would still accept
   * its `nbf` and `exp` at `now` (no clock tolerance, as {@link verify} asks of jose). An
   * entry out of its time is forgotten, and the token verified from scratch.
   */
  private recall(digest: string, now: Date): RememberedToken<T> | undefined {
    const remembered = this.rememberedTokens.get(digest);
    if (!remembered) return undefined;
    const seconds = Math.floor(now.getTime() / 1000);
    if (remembered.notBefore <= seconds && seconds < remembered.expiresAt) return remembered;
    this.rememberedTokens.delete(digest);
    return undefined;
  }

  /**
   * True when looking up the key of a token that `key` verified would hand out `key` again
   * without fetching: `key` came from the key set jose holds now, that set is fresh (jose
   * refetches a set only when it is stale, or for a `kid` it lacks, and this token's `kid` was
   * in it), no fetch is under way, and no failed fetch has put the outage fallback in charge.
   */
  private wouldLookUpSameKey(key: KeyLike | Uint8Array): boolean {
    const keySet = this.fetched.jwks;
    return (
      keySet !== undefined &&
      this.keySetOf.get(key) === keySet &&
      this.failedFetch === undefined &&
      this.remoteKeys.fresh &&
      !this.remoteKeys.reloading
    );
  }

  private remember(digest: string, entry: RememberedToken<T>): void {
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
    const retryAfterMs = Math.min(this.options.keySet.cooldownMs, RETRY_FAILED_FETCH_AFTER_MS);
    if (failed && this.now().getTime() - failed.at < retryAfterMs) {
      return this.withKnownKeys(failed, header, token);
    }
    const keySet = this.fetched.jwks;
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
    // With the same key set before and after, no fetch landed during the lookup, so the key is
    // one of that set's; otherwise it may be of either, and is not recorded.
    if (keySet !== undefined && keySet === this.fetched.jwks) this.keySetOf.set(key, keySet);
    this.failedFetch = undefined;
    this.reportFetchState(undefined);
    return key;
  };

  /** The key for `header` among those known when fetching failed; else the keys are unavailable. */
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
    throw new KeySetUnavailableError(failed.reason);
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
        issuer: this.options.issuer,
        reason: failure,
        cached_keys: this.remoteKeys.jwks() !== undefined,
      });
    } else if (failure === undefined && this.fetchFailure !== undefined) {
      this.logger.log({ event: 'jwks_fetch_recovered', issuer: this.options.issuer });
    }
    this.fetchFailure = failure;
  }
}

/**
 * False when `token` has three parts and one is not base64url in canonical form (exported for
 * a verifier outside this class, such as the issuer's introspection): base64url has
 * spare bits in its last character, and the decoder jose uses skips characters outside the
 * alphabet (`=`, `!`, whitespace), so one signature has many spellings, each a different token
 * string (and a different entry among the remembered tokens).
 */
export function isCanonicalCompact(token: string): boolean {
  const parts = token.split('.');
  // Anything else is no compact JWS at all: jose refuses it with its own reason.
  if (parts.length !== 3) return true;
  return parts.every(
    (part) =>
      /^[A-Za-z0-9_-]*$/.test(part) &&
      Buffer.from(part, 'base64url').toString('base64url') === part,
  );
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
