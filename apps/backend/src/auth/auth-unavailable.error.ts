/**
 * The auth server's public keys could not be fetched (and none that fit the token are
 * cached), so no token can be checked: the guard answers `503 {"error":"auth unavailable"}`,
 * not 401, because the caller's token may well be valid.
 */
export class AuthUnavailableError extends Error {
  /** Stable machine code, in the style of jose's `ERR_*` codes. */
  readonly code = 'ERR_AUTH_UNAVAILABLE';

  constructor(
    /** What went wrong with the fetch (an error code, never a URL or a token). */
    readonly reason: string,
  ) {
    super(`auth unavailable: ${reason}`);
    this.name = 'AuthUnavailableError';
  }
}
