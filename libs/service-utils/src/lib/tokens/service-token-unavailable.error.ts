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
