/** One dependency a service needs to serve requests, e.g. its database. */
export interface HealthCheck {
  /** Short name shown in the health answer, e.g. `database`. */
  readonly name: string;
  /** Resolves when the dependency works; rejects (with any error) when it does not. */
  check(): Promise<void>;
}

/** Injection token of the {@link HealthCheck} list a service gives `HealthModule`. */
export const HEALTH_CHECKS = Symbol('HEALTH_CHECKS');
