/**
 * An upstream answered with a status the backend has no meaning for (a 403 from a
 * misconfigured credential, a 400 to a request the backend built itself...). It is a bug or
 * a misconfiguration, not the client's fault: the error filter answers
 * `500 {"error":"internal error","request_id"}` and logs this message (upstream, call and
 * status only, never a header or body).
 */
export class UnexpectedUpstreamAnswerError extends Error {
  /** Stable machine code, in the style of jose's `ERR_*` codes. */
  readonly code = 'ERR_UNEXPECTED_UPSTREAM_ANSWER';

  constructor(
    readonly upstream: string,
    readonly call: string,
    readonly status: number,
  ) {
    super(`${upstream} answered ${status} to ${call}`);
    this.name = 'UnexpectedUpstreamAnswerError';
  }
}
