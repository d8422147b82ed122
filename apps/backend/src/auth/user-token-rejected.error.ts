/**
 * An access token that does not verify: bad signature, wrong `iss`/`aud`/`alg`, expired,
 * malformed, or a subject that is not a user id. The guard answers
 * `401 {"error":"unauthorized"}` and logs {@link reason}.
 */
export class UserTokenRejectedError extends Error {
  /** Stable machine code, in the style of jose's `ERR_*` codes. */
  readonly code = 'ERR_USER_TOKEN_REJECTED';

  constructor(
    /** Why, for the log: a jose error code (`ERR_JWT_EXPIRED`, ...) or a short name. */
    readonly reason: string,
  ) {
    super(`access token rejected: ${reason}`);
    this.name = 'UserTokenRejectedError';
  }
}
