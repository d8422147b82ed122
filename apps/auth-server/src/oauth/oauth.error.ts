import type { oauthApi } from '@zt/contracts';

/**
 * A refused token request, answered as RFC 6749 section 5.2 says:
 * `{"error": <code>, "error_description"}` with {@link status} (401 for `invalid_client`,
 * 413 for a form past the limit, 429 with `Retry-After` past the client's rate limit, 400
 * otherwise). The description never holds a secret.
 */
export class OAuthError extends Error {
  /** Stable machine code, in the style of jose's `ERR_*` codes. */
  readonly code = 'ERR_OAUTH_TOKEN_REQUEST';

  constructor(
    /** The RFC's error code, which the answer carries as `error`. */
    readonly error: oauthApi.TokenErrorCode,
    /** A human-readable line for the caller (`error_description`). */
    readonly description: string,
    readonly status: number = error === 'invalid_client' ? 401 : 400,
    /** For a 429: the seconds until the client may try again (`Retry-After`). */
    readonly retryAfterSeconds?: number,
  ) {
    super(`${error}: ${description}`);
    this.name = 'OAuthError';
  }
}
