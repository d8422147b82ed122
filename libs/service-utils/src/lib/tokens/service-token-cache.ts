import { Logger } from '@nestjs/common';
import { ServiceTokenUnavailableError } from './token-errors';

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
    const now = this.now();
    const cached = this.tokens.get(audience);
    if (cached && now < cached.usableUntilMs) {
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
    const failure = this.failures.get(audience);
    if (failure && now < failure.untilMs && !this.inFlight.has(audience)) {
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
   * Forgets `token` when it is the one cached for `audience` (its callee refused it as
   * invalid), so the next call fetches a new one; a token already replaced is left alone, so
   * many calls refused at once cause one fetch.
   */
  invalidate(audience: string, token: string): void {
    if (this.tokens.get(audience)?.token === token) this.tokens.delete(audience);
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
      this.failures.set(audience, { error: failure, untilMs: askedAt + this.retryAfterFailureMs });
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
      refreshAtMs: expiresAtMs - Math.min(this.refreshBeforeMs, lifetimeMs / 2),
      usableUntilMs: expiresAtMs - Math.min(LAST_USE_BEFORE_EXPIRY_MS, lifetimeMs / 4),
    });
    return obtained.accessToken;
  }
}
