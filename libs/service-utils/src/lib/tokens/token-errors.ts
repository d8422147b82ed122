/**
 * A token that does not verify: bad signature, wrong `typ`/`iss`/`aud`/`alg`, expired,
 * malformed, or claims its profile refuses. A guard answers 401 and logs {@link reason}.
 */
export class TokenRejectedError extends Error {
  /** Stable machine code, in the style of jose's `ERR_*` codes. */
  readonly code = 'ERR_TOKEN_REJECTED';

  constructor(
    /** Why, for the log: a jose error code (`ERR_JWT_EXPIRED`, ...) or a short name. */
    readonly reason: string,
  ) {
    super(`token rejected: ${reason}`);
    this.name = 'TokenRejectedError';
  }
}

/**
 * The issuer's public keys could not be fetched (and none that fit the token are cached), so
 * the token cannot be checked either way: a guard answers 503, not 401, because the token
 * may well be valid.
 */
export class KeySetUnavailableError extends Error {
  /** Stable machine code, in the style of jose's `ERR_*` codes. */
  readonly code = 'ERR_KEY_SET_UNAVAILABLE';

  constructor(
    /** What went wrong with the fetch (an error code, never a URL or a token). */
    readonly reason: string,
  ) {
    super(`key set unavailable: ${reason}`);
    this.name = 'KeySetUnavailableError';
  }
}

/**
 * Why no service token could be had:
 * - `unreachable`: the issuer did not answer in time, or answered with a 5xx;
 * - `refused`: it refused the request (an RFC 6749 error such as `invalid_client` or
 *   `invalid_target`, in {@link ServiceTokenUnavailableError.oauthError});
 * - `invalid_response`: its answer was not a token response.
 */
export type ServiceTokenFailureReason = 'unreachable' | 'refused' | 'invalid_response';

/**
 * This service could not get a service token for a callee, so a call that needs one is not
 * sent. The message names the audience, the reason and the OAuth error code only: never a
 * secret, a token or a URL.
 */
export class ServiceTokenUnavailableError extends Error {
  /** Stable machine code, in the style of jose's `ERR_*` codes. */
  readonly code = 'ERR_SERVICE_TOKEN_UNAVAILABLE';

  constructor(
    /** The callee the token was for. */
    readonly audience: string,
    readonly reason: ServiceTokenFailureReason,
    /** The issuer's RFC 6749 `error` code, for `refused`. */
    readonly oauthError?: string,
  ) {
    super(
      `no service token for ${audience}: ${reason}${oauthError === undefined ? '' : ` (${oauthError})`}`,
    );
    this.name = 'ServiceTokenUnavailableError';
  }
}
