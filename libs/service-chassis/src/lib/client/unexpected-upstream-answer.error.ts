/**
 * An upstream gave an answer its contract does not declare (a 403 from a misconfigured
 * credential, a body of the wrong shape), or one the caller has no meaning for (a 400 to a
 * request it built itself). It is a bug or a misconfiguration, not the client's fault: the
 * error filter answers
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
