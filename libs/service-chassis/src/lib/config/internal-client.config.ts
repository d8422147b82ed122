import { type Environment, readInteger } from '@zt/service-utils';

/**
 * How the internal HTTP client calls other services: the timeout of every call, how often an
 * idempotent call is retried, and when the circuit breaker of an upstream opens and tries again.
 */
export interface InternalClientConfig {
  /** Deadline of one attempt, from sending to the last byte of the answer (`INTERNAL_HTTP_TIMEOUT_MS`, default 3000). */
  readonly timeoutMs: number;
  /** Further attempts after a failed idempotent call (`INTERNAL_HTTP_RETRIES`, default 2). */
  readonly retries: number;
  /** How long an open breaker waits before it lets one trial call through (`CIRCUIT_BREAKER_RESET_MS`, default 5000). */
  readonly breakerResetMs: number;
  /**
   * The breaker opens when more than this percentage of the calls in its rolling window
   * failed (`CIRCUIT_BREAKER_ERROR_THRESHOLD_PERCENT`, default 50).
   */
  readonly breakerErrorThresholdPercent: number;
  /** The fewest calls in the rolling window before the breaker may open (`CIRCUIT_BREAKER_VOLUME_THRESHOLD`, default 5). */
  readonly breakerVolumeThreshold: number;
}

/**
 * Reads `INTERNAL_HTTP_TIMEOUT_MS`, `INTERNAL_HTTP_RETRIES`, `CIRCUIT_BREAKER_RESET_MS`,
 * `CIRCUIT_BREAKER_ERROR_THRESHOLD_PERCENT` and `CIRCUIT_BREAKER_VOLUME_THRESHOLD` from `env`
 * (an app's config folder passes `process.env`; tests pass a record).
 * @throws ConfigError naming the variable when a value is not a whole number in its range.
 */
export function loadInternalClientConfig(env: Environment): InternalClientConfig {
  return {
    timeoutMs: readInteger(env, 'INTERNAL_HTTP_TIMEOUT_MS', 3000, { min: 10, max: 300_000 }),
    retries: readInteger(env, 'INTERNAL_HTTP_RETRIES', 2, { min: 0, max: 10 }),
    breakerResetMs: readInteger(env, 'CIRCUIT_BREAKER_RESET_MS', 5000, {
      min: 10,
      max: 3_600_000,
    }),
    // 100 would never open (the breaker opens above the threshold), so it is not accepted.
    breakerErrorThresholdPercent: readInteger(env, 'CIRCUIT_BREAKER_ERROR_THRESHOLD_PERCENT', 50, {
      min: 1,
      max: 99,
    }),
    breakerVolumeThreshold: readInteger(env, 'CIRCUIT_BREAKER_VOLUME_THRESHOLD', 5, {
      min: 1,
      max: 10_000,
    }),
  };
}
