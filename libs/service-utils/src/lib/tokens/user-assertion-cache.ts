import { createHash } from 'node:crypto';
import type { ServiceClientCredentials } from './client-credentials';
import { type OAuthAnswer, postAsOAuthClient } from './oauth-client-post';
import type { ObtainedServiceToken } from './service-token-cache';
import { ServiceTokenUnavailableError } from './service-token-unavailable.error';
import { USER_ASSERTION_MAX_LIFETIME_SECONDS } from './user-assertion';

/**
 * Exchanges a user's access token (`subjectToken`) for a user assertion for `audience`.
 * @throws ServiceTokenUnavailableError when none is to be had (`refused` with the OAuth error,
 *   e.g. `invalid_grant` for a token whose session ended; `unreachable`; `invalid_response`).
 */
export type UserAssertionFetcher = (
  subjectToken: string,
  audience: string,
) => Promise<ObtainedServiceToken>;

/** RFC 8693's names, as the token endpoint takes them. */
const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
// An RFC 6749 `error` code: printable ASCII without `"` and `\` (section 5.2).
const OAUTH_ERROR_CODE = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,64}$/;

/**
 * Token exchange (RFC 8693) at an OAuth 2.0 token endpoint, as `client` with
 * `client_secret_basic`: the user's access token as `subject_token`, the callee as `audience`,
 * a JWT (`issued_token_type` jwt, `token_type` N_A) back. One POST per assertion, with a deadline.
 */
export function tokenExchangeGrant(
  client: ServiceClientCredentials,
  { timeoutMs }: { timeoutMs: number },
): UserAssertionFetcher {
  return async (subjectToken, audience) => {
    let answer: OAuthAnswer;
    try {
      answer = await postAsOAuthClient(
        client.tokenEndpoint,
        client,
        {
          grant_type: TOKEN_EXCHANGE_GRANT,
          subject_token: subjectToken,
          subject_token_type: ACCESS_TOKEN_TYPE,
          requested_token_type: JWT_TYPE,
          audience,
        },
        timeoutMs,
      );
    } catch {
      throw new ServiceTokenUnavailableError(audience, 'unreachable');
    }
    const { status, body } = answer;
    if (status >= 500) throw new ServiceTokenUnavailableError(audience, 'unreachable');
    if (status !== 200) {
      const error = body?.['error'];
      if (typeof error === 'string' && OAUTH_ERROR_CODE.test(error)) {
        throw new ServiceTokenUnavailableError(audience, 'refused', error);
      }
      throw new ServiceTokenUnavailableError(audience, 'invalid_response');
    }
    const accessToken = body?.['access_token'];
    const expiresIn = body?.['expires_in'];
    if (
      typeof accessToken !== 'string' ||
      !/^[\x21-\x7e]+$/.test(accessToken) ||
      body?.['issued_token_type'] !== JWT_TYPE ||
      typeof expiresIn !== 'number' ||
      !Number.isInteger(expiresIn) ||
      expiresIn <= 0
    ) {
      throw new ServiceTokenUnavailableError(audience, 'invalid_response');
    }
    return {
      accessToken,
      expiresInSeconds: Math.min(expiresIn, USER_ASSERTION_MAX_LIFETIME_SECONDS),
    };
  };
}

export interface UserAssertionCacheOptions {
  /** How many assertions to keep at most (oldest forgotten first); 10,000 when absent. */
  readonly maxEntries?: number;
  /** The clock, in milliseconds (tests). */
  readonly now?: () => number;
}

interface CachedAssertion {
  readonly token: string;
  /** When it is no longer sent: a little before its `exp`, for transit and clock skew. */
  readonly usableUntilMs: number;
}

// Not sent in its last 10 s (or last quarter of a short life): it must still verify on arrival.
const LAST_USE_BEFORE_EXPIRY_MS = 10_000;

/**
 * The user assertions of a service acting for its users: one per user session (the access
 * token, kept only as its SHA-256) and audience, cached until shortly before it expires, with
 * one exchange however many calls wait for it (single flight). A failed exchange is not
 * remembered: the next call asks again (its cause, say an ended session, is the user's).
 */
export class UserAssertionCache {
  private readonly assertions = new Map<string, CachedAssertion>();
  private readonly inFlight = new Map<string, Promise<string>>();
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(
    private readonly fetcher: UserAssertionFetcher,
    options: UserAssertionCacheOptions = {},
  ) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * An assertion for the user of `subjectToken` at `audience`.
   * @throws ServiceTokenUnavailableError when none is cached and none can be had.
   */
  assertion(subjectToken: string, audience: string): Promise<string> {
    const key = `${audience} ${createHash('sha256').update(subjectToken).digest('base64url')}`;
    const cached = this.assertions.get(key);
    if (cached && this.now() < cached.usableUntilMs) return Promise.resolve(cached.token);
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.exchange(key, subjectToken, audience).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  private async exchange(key: string, subjectToken: string, audience: string): Promise<string> {
    const askedAt = this.now();
    const obtained = await this.fetcher(subjectToken, audience);
    const lifetimeMs = obtained.expiresInSeconds * 1000;
    this.assertions.delete(key);
    if (this.assertions.size >= this.maxEntries) this.forgetOldest();
    this.assertions.set(key, {
      token: obtained.accessToken,
      usableUntilMs: askedAt + lifetimeMs - Math.min(LAST_USE_BEFORE_EXPIRY_MS, lifetimeMs / 4),
    });
    return obtained.accessToken;
  }

  /** Drops the expired entries, or else the oldest one. */
  private forgetOldest(): void {
    const now = this.now();
    for (const [key, entry] of this.assertions) {
      if (entry.usableUntilMs <= now) this.assertions.delete(key);
    }
    if (this.assertions.size >= this.maxEntries) {
      const oldest = this.assertions.keys().next().value;
      if (oldest !== undefined) this.assertions.delete(oldest);
    }
  }
}
