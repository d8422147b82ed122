import { DependencyUnavailableError } from '../http/dependency-unavailable.error';

/**
 * Why an internal call produced no usable answer:
 * - `breaker_open`: the upstream's circuit breaker is open (or half-open with its one trial
 *   call already under way), so the call failed at once without touching the network;
 * - `timeout`: no complete answer within `INTERNAL_HTTP_TIMEOUT_MS`;
 * - `network`: the connection was refused, reset or otherwise lost;
 * - `server_error`: the upstream answered with a 5xx status (see `status`);
 * - `invalid_response`: the answer could not be read (JSON that does not parse, or a body
 *   larger than the upstream's `maxResponseBytes`);
 * - `shutdown`: the client was already shut down with the application;
 * - `no_service_token`: the call needs this service's token for the upstream and none could
 *   be had from the auth server (nothing was sent; the log says why);
 * - `rate_limited`: the upstream refused this service past its rate limit (429) on a call
 *   whose contract declares no 429 of its own; `retryAfterSeconds` says when it will take
 *   calls again. That attempt did nothing (an earlier attempt of a retried call, unanswered,
 *   may have). Not retried: the limit is this service's, and every call of it would be
 *   refused alike until then.
 */
export type UpstreamFailureReason =
  | 'breaker_open'
  | 'timeout'
  | 'network'
  | 'server_error'
  | 'invalid_response'
  | 'shutdown'
  | 'no_service_token'
  | 'rate_limited';

/**
 * An upstream service gave no usable answer. Callers usually map it to
 * `503 {"error":"<upstream> unavailable"}`. An answer below 500 (a 402, 404 or 409) is
 * returned to the caller as a normal response, never this error; the one exception is a 429
 * that the contract of a call does not declare (`rate_limited`).
 *
 * The message names the upstream and the reason only: never a URL, header, token or body,
 * and the low-level error (whose request config holds the internal token) is not attached.
 */
export class UpstreamUnavailableError extends DependencyUnavailableError {
  /** Stable machine code, in the style of jose's `ERR_*` codes. */
  readonly code = 'ERR_UPSTREAM_UNAVAILABLE';

  constructor(
    /** The upstream's name, as given to `InternalClientModule.forRoot`, e.g. `billing`. */
    readonly upstream: string,
    /** Why there was no usable answer. */
    override readonly reason: UpstreamFailureReason,
    /** The HTTP status, for `server_error` and `rate_limited` only. */
    readonly status?: number,
    /** The upstream's `Retry-After` (seconds), for `rate_limited` only. */
    retryAfterSeconds?: number,
  ) {
    super(
      upstream,
      reason,
      `${upstream} unavailable: ${reason}${status === undefined ? '' : ` (${status})`}`,
      retryAfterSeconds,
    );
    this.name = 'UpstreamUnavailableError';
  }
}
