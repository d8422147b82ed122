/** One dependency a service needs to serve requests, e.g. its database. */
export interface HealthCheck {
  /** Short name shown in the health answer, e.g. `database`. */
  readonly name: string;
  /** Resolves when the dependency works; rejects (with any error) when it does not. */
  check(): Promise<void>;
}

/**
 * Injection token of the {@link HealthCheck} list a service provides beside
 * `HealthController`: what its readiness depends on besides its upstreams' breakers
 * (those are added by the controller itself). Optional: a service without one is ready
 * when its breakers are.
 */
export const HEALTH_CHECKS = Symbol('HEALTH_CHECKS');

/** How long one readiness check may take before it counts as down, in milliseconds. */
export const HEALTH_CHECK_TIMEOUT_MS = 2000;
