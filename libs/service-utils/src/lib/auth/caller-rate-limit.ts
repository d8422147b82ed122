/**
 * A per-client allowance of internal requests, checked by the guard after a caller has proven
 * which service it is (so it counts clients, never addresses, and an unproven request costs
 * nothing). Only a verified caller is counted: in `token` mode the callee cannot tell the
 * holders of the shared token apart, and one bucket for all of them would let one caller get
 * every other refused. Optional: the guard works without one. Provide it under this class as
 * the injection token (the chassis's `RateLimitModule` does, counted in Redis or in memory).
 */
export abstract class CallerRateLimit {
  /**
   * Counts one request of `client` (the verified service name).
   * @returns 0 when it may go on, else the milliseconds until it may try again.
   */
  abstract admit(client: string): Promise<number>;
}
