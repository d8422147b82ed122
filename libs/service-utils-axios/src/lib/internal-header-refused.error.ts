/**
 * Why an adapted axios instance refused to send a call:
 * - `conflict`: the call already carries a credential header (e.g. an `X-INTERNAL-TOKEN`
 *   copied from an incoming request) with another value than the one the adapter would add;
 * - `foreign_origin`: the call carries `X-INTERNAL-TOKEN` to an origin that is not one of the
 *   instance's internal services, where the credential must never go.
 */
export type InternalHeaderRefusal = 'conflict' | 'foreign_origin';

/**
 * An adapted axios instance refused to send a call, before anything left the process. The
 * message names the header and the reason, never a header's value.
 */
export class InternalHeaderRefusedError extends Error {
  /** Stable machine code, in the style of jose's `ERR_*` codes. */
  readonly code = 'ERR_INTERNAL_HEADER_REFUSED';

  constructor(
    /** Why the call was refused. */
    readonly reason: InternalHeaderRefusal,
    /** The header at fault, as the adapter spells it (e.g. `X-INTERNAL-TOKEN`). */
    readonly header: string,
    /** The origin the call was going to, e.g. `http://127.0.0.1:6004`. */
    readonly origin: string,
  ) {
    super(
      reason === 'conflict'
        ? `refused to send ${header} to ${origin}: the call already carries another value`
        : `refused to send ${header} to ${origin}: not an internal origin of this instance`,
    );
    this.name = 'InternalHeaderRefusedError';
  }
}
