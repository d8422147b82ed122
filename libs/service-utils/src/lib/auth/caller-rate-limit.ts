/**
 * The client name under which a `token`-mode caller is counted: there, the callee cannot tell
 * the holders of the shared token apart, so they share one allowance.
 */
export const SHARED_TOKEN_CLIENT = 'shared-token';

/**
 * A per-client allowance of internal requests, checked by the guard after a caller has proven
 * itself (so it counts clients, never addresses, and an unproven request costs it nothing).
 * Optional: the guard works without one. Provide it under this class as the injection token
 * (the chassis's `RateLimitModule` does, counted in Redis or in memory).
 */
export abstract class CallerRateLimit {
  /**
   * Counts one request of `client` (the verified service name, or {@link SHARED_TOKEN_CLIENT}).
   * @returns 0 when it may go on, else the milliseconds until it may try again.
   */
  abstract admit(client: string): Promise<number>;
}
