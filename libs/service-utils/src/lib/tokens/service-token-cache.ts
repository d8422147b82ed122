import { Logger } from '@nestjs/common';
import { ServiceTokenUnavailableError } from './service-token-unavailable.error';

/** A service token as its issuer handed it out. */
export interface ObtainedServiceToken {
  /** The compact JWT. Secret: never logged. */
  readonly accessToken: string;
  /** Seconds it is valid for, from when it was asked for (`expires_in`). */
  readonly expiresInSeconds: number;
}

/**
 * Gets a new service token for `audience` (the callee's service name): from the token endpoint
 * ({@link clientCredentialsGrant}), or in-process where the issuer is this service itself.
 * @throws ServiceTokenUnavailableError when there is none to be had.
 */
export type ServiceTokenFetcher = (audience: string) => Promise<ObtainedServiceToken>;

/** Where a token handed to a caller came from, as {@link ServiceTokenCache.counts} counts it. */
export type ServiceTokenSource = 'cached' | 'fetched' | 'stale' | 'failed';

export interface ServiceTokenCacheOptions {
  /**
   * How long before its expiry a token is replaced (default: 60 s, at most half its lifetime).
   * It is still handed out meanwhile; the replacement is fetched beside the calls.
   */
  readonly refreshBeforeExpirySeconds?: number;
  /**
   * After a failed fetch, how long calls go on with the token they have (or fail at once when
   * there is none) before the issuer is asked again (default 1 s): a caller never waits for,
   * nor hammers, an issuer that just failed.
   */
  readonly retryAfterFailureMs?: number;
  /** The clock, in milliseconds (tests). */
  readonly now?: () => number;
}

interface CachedToken {
  readonly token: string;
  /** When it was asked for. */
  readonly fetchedAtMs: number;
  /** When it is replaced, in the background. */
  readonly refreshAtMs: number;
  /** When it is no longer sent: a little before its `exp`, for transit and clock skew. */
  readonly usableUntilMs: number;
}

interface Failure {
  readonly error: ServiceTokenUnavailableError;
  readonly untilMs: number;
}

// Not sent in its last 10 s: the callee must still find it valid when it arrives.
const LAST_USE_BEFORE_EXPIRY_MS = 10_000;
// A token refused this young is not replaced: a new one would be refused alike (a callee that
// trusts another issuer, or has not yet seen the new key), and each call would cost a fetch.
const MIN_AGE_TO_RENEW_MS = 5_000;

/**
 * The service tokens of one caller, one per audience (DESIGN section 9, client side):
 * - a token is cached until shortly before it expires, and replaced before that
 *   (`refreshBeforeExpirySeconds`) while the cached one is still handed out, so no call waits
 *   for a refresh while it holds a valid token;
 * - however many calls need a new token at once, one fetch is made (single flight);
 * - while the issuer is unreachable, calls go on with the cached token until it expires;
 * - {@link invalidate} drops a token its callee refused, so the next call gets a new one.
 */
export class ServiceTokenCache {
  private readonly logger = new Logger(ServiceTokenCache.name);
  private readonly tokens = new Map<string, CachedToken>();
  private readonly inFlight = new Map<string, Promise<string>>();
  private readonly failures = new Map<string, Failure>();
  private readonly refreshBeforeMs: number;
  private readonly retryAfterFailureMs: number;
  private readonly now: () => number;
  private readonly tally: Record<ServiceTokenSource, number> = {
    cached: 0,
    fetched: 0,
    stale: 0,
    failed: 0,
  };

  constructor(
    private readonly fetcher: ServiceTokenFetcher,
    options: ServiceTokenCacheOptions = {},
  ) {
    this.refreshBeforeMs = (options.refreshBeforeExpirySeconds ?? 60) * 1000;
    this.retryAfterFailureMs = options.retryAfterFailureMs ?? 1000;
    this.now = options.now ?? Date.now;
  }

  /**
   * A token for `audience`.
   * @throws ServiceTokenUnavailableError when none is cached and none can be fetched.
   */
  async token(audience: string): Promise<string> {
    const ready = this.cachedToken(audience);
    if (ready !== undefined) return ready;
    const failure = this.failures.get(audience);
    if (failure && this.now() < failure.untilMs && !this.inFlight.has(audience)) {
      this.tally.failed += 1;
      throw failure.error;
    }
    try {
      const token = await this.fetch(audience);
      this.tally.fetched += 1;
      return token;
    } catch (error) {
      this.tally.failed += 1;
      throw error;
    }
  }

  /**
   * A token for `audience` if one can be had without waiting; otherwise `undefined`, and one
   * is fetched in the background for the next call (at most once a cooldown). For a caller that
   * must never wait for the issuer (`INTERNAL_AUTH_SHADOW=jwt`).
   */
  tokenIfReady(audience: string): string | undefined {
    const ready = this.cachedToken(audience);
    if (ready !== undefined) return ready;
    this.tally.failed += 1;
    if (this.now() >= (this.failures.get(audience)?.untilMs ?? 0)) {
      this.fetch(audience).catch(() => undefined);
    }
    return undefined;
  }

  /** The cached token while it may be sent, replaced in the background once it is due. */
  private cachedToken(audience: string): string | undefined {
    const now = this.now();
    const cached = this.tokens.get(audience);
    if (!cached || now >= cached.usableUntilMs) return undefined;
    if (now < cached.refreshAtMs) {
      this.tally.cached += 1;
    } else {
      // Time to replace it: beside this call, which goes on with the one it has.
      this.tally.stale += 1;
      if (now >= (this.failures.get(audience)?.untilMs ?? 0)) {
        this.fetch(audience).catch(() => undefined);
      }
    }
    return cached.token;
  }

  /**
   * Its callee refused `token` as invalid: forgets it when it is the one cached for
   * `audience`, so the next call fetches a new one. Many calls refused at once cause one
   * fetch (a token already replaced is left alone), and a token refused within 5 s of being
   * fetched is kept: a new one would fare no better, and each call would cost a fetch.
   * @returns true when a call refused with `token` may be sent again with the cached or a new
   *   token, false when that would be refused alike.
   */
  invalidate(audience: string, token: string): boolean {
    const cached = this.tokens.get(audience);
    if (cached === undefined || cached.token !== token) return true;
    if (this.now() - cached.fetchedAtMs < MIN_AGE_TO_RENEW_MS) return false;
    this.tokens.delete(audience);
    return true;
  }

  /** How many tokens were handed out from each source since the cache was made. */
  counts(): Readonly<Record<ServiceTokenSource, number>> {
    return { ...this.tally };
  }

  /** One fetch per audience at a time: later callers wait for the one under way. */
  private fetch(audience: string): Promise<string> {
    let pending = this.inFlight.get(audience);
    if (!pending) {
      pending = this.fetchOnce(audience).finally(() => this.inFlight.delete(audience));
      this.inFlight.set(audience, pending);
    }
    return pending;
  }

  private async fetchOnce(audience: string): Promise<string> {
    const askedAt = this.now();
    let obtained: ObtainedServiceToken;
    try {
      obtained = await this.fetcher(audience);
    } catch (error) {
      const failure =
        error instanceof ServiceTokenUnavailableError
          ? error
          : new ServiceTokenUnavailableError(audience, 'invalid_response');
      // From when it failed: a request that timed out must not have used up the cooldown.
      this.failures.set(audience, {
        error: failure,
        untilMs: this.now() + this.retryAfterFailureMs,
      });
      this.logger.warn({
        event: 'service_token_fetch_failed',
        audience,
        reason: failure.reason,
        ...(failure.oauthError ? { oauth_error: failure.oauthError } : {}),
        cached_token: this.tokens.has(audience),
      });
      throw failure;
    }
    this.failures.delete(audience);
    // Counted from when it was asked for: the issuer's clock started no earlier.
    const lifetimeMs = obtained.expiresInSeconds * 1000;
    const expiresAtMs = askedAt + lifetimeMs;
    this.tokens.set(audience, {
      token: obtained.accessToken,
      fetchedAtMs: askedAt,
      refreshAtMs: expiresAtMs - Math.min(this.refreshBeforeMs, lifetimeMs / 2),
      usableUntilMs: expiresAtMs - Math.min(LAST_USE_BEFORE_EXPIRY_MS, lifetimeMs / 4),
    });
    return obtained.accessToken;
  }
}
