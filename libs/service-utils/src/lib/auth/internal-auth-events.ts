import type { InternalAuthDeniedReason } from './internal-auth-denied.reason';

/**
 * Where the guard reports its refusals beside its log line, for an app that counts them.
 * Optional: the guard works without one. Provide it under this class as the injection token
 * (the chassis's `MetricsModule` does, counting `internal_auth_denied_total{reason}`).
 */
export abstract class InternalAuthEvents {
  /** Called once per refused request, after the log line and before the answer. */
  abstract denied(reason: InternalAuthDeniedReason): void;

  /**
   * Called once per request that `INTERNAL_AUTH_SHADOW=jwt` would have refused (it was let
   * through): what the next mode would cost. Optional.
   */
  shadowDenied?(reason: InternalAuthDeniedReason): void;
}
