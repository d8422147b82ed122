import { hash } from 'node:crypto';
import { IntrospectionUnavailableError } from './introspection-unavailable.error';
import { type OAuthClientSecret, postAsOAuthClient } from './oauth-client-post';

/** Where and how a service asks the issuer about the service tokens it is shown. */
export interface IntrospectionSettings {
  /** The issuer's introspection endpoint (`<AUTH_SERVER_URL>/oauth2/introspect`). */
  readonly endpoint: URL;
  /** This service's client (whose name is the audience of the tokens it asks about). */
  readonly client: OAuthClientSecret;
  /** Deadline of one introspection request. */
  readonly timeoutMs: number;
  /** How long an active answer is trusted (never past the token's `exp`). */
  readonly cacheMs: number;
}

/** How many active answers are remembered at most (the oldest forgotten first). */
const MAX_REMEMBERED = 10_000;

/**
 * Asks the issuer whether a service token is active (RFC 7662) for the routes that must know
 * of a revocation at once (`@Introspected()`). An active answer is remembered for `cacheMs`
 * counted from when the question was sent (at most until the token's `exp`); an inactive one
 * never is, so a token revoked after its last check is refused within `cacheMs`. Concurrent
 * checks of one token make one request.
 * Anything but a well-formed answer fails closed: {@link IntrospectionUnavailableError}.
 */
export class TokenIntrospector {
  // Insertion order is age order. Keyed by the token's SHA-256: no token is kept in memory.
  private readonly active = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<boolean>>();

  constructor(
    private readonly settings: IntrospectionSettings,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * @returns whether the issuer calls `token` active for this service now.
   * @throws IntrospectionUnavailableError when it could not say.
   */
  async isActive(token: string): Promise<boolean> {
    const digest = hash('sha256', token, 'base64url');
    const until = this.active.get(digest);
    if (until !== undefined) {
      if (this.now() < until) return true;
      this.active.delete(digest);
    }
    let pending = this.inFlight.get(digest);
    if (!pending) {
      pending = this.ask(token, digest).finally(() => this.inFlight.delete(digest));
      this.inFlight.set(digest, pending);
    }
    return pending;
  }

  private async ask(token: string, digest: string): Promise<boolean> {
    const { endpoint, client, timeoutMs, cacheMs } = this.settings;
    // The answer may be as old as the question: the cache runs from here, not from its arrival.
    const askedAt = this.now();
    let answer;
    try {
      answer = await postAsOAuthClient(endpoint, client, { token }, timeoutMs);
    } catch {
      throw new IntrospectionUnavailableError('unreachable');
    }
    if (answer.status >= 500) throw new IntrospectionUnavailableError('server_error');
    if (answer.status !== 200) throw new IntrospectionUnavailableError('refused');
    const body = answer.body;
    if (body?.['active'] === false) return false;
    const exp = body?.['exp'];
    // An active answer must be about a token for this service, with an expiry.
    if (
      body?.['active'] !== true ||
      body['aud'] !== client.clientId ||
      typeof exp !== 'number' ||
      !Number.isFinite(exp)
    ) {
      throw new IntrospectionUnavailableError('invalid_response');
    }
    const until = Math.min(askedAt + cacheMs, exp * 1000);
    if (this.now() < until) this.remember(digest, until);
    return true;
  }

  private remember(digest: string, until: number): void {
    this.active.delete(digest);
    if (this.active.size >= MAX_REMEMBERED) {
      const oldest = this.active.keys().next();
      if (!oldest.done) this.active.delete(oldest.value);
    }
    this.active.set(digest, until);
  }
}
