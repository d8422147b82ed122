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
