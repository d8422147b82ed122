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
 *   be had from the auth server (nothing was sent; the log says why).
 */
export type UpstreamFailureReason =
  | 'breaker_open'
  | 'timeout'
  | 'network'
  | 'server_error'
  | 'invalid_response'
  | 'shutdown'
  | 'no_service_token';

/**
 * An upstream service gave no usable answer. Callers usually map it to
 * `503 {"error":"<upstream> unavailable"}`. An answer below 500 (a 402, 404 or 409) is never
 * this error: it is returned to the caller as a normal response.
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
    /** The HTTP status, for `server_error` only. */
    readonly status?: number,
  ) {
    super(
      upstream,
      reason,
      `${upstream} unavailable: ${reason}${status === undefined ? '' : ` (${status})`}`,
    );
    this.name = 'UpstreamUnavailableError';
  }
}
