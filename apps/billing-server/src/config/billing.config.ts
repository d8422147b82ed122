import {
  type Environment,
  type InternalAuthConfig,
  loadInternalAuthConfig,
  readInteger,
  readOptionalString,
} from '@zt/service-utils';
import { loadServiceConfig, type ServiceConfig } from '@zt/service-chassis';

/** The billing server's configuration, read and validated once at boot. */
export interface BillingConfig {
  readonly service: ServiceConfig;
  /** Secret: the internal credentials. */
  readonly internalAuth: InternalAuthConfig;
  /** Secret (may carry a password): PostgreSQL URL; embedded PGlite under the data folder when absent. */
  readonly databaseUrl: string | undefined;
  /** How long an `Idempotency-Key` is remembered (`IDEMPOTENCY_KEY_TTL_HOURS`, 24 to 720, default 48). */
  readonly idempotencyKeyTtlHours: number;
}

/**
 * Builds the configuration from `env`.
 * @throws ConfigError naming the variable at fault.
 */
export function loadBillingConfig(env: Environment): BillingConfig {
  return {
    service: loadServiceConfig(env, {
      name: 'billing-server',
      portVariable: 'BILLING_SERVER_PORT',
      defaultPort: 6004,
    }),
    internalAuth: loadInternalAuthConfig(env),
    databaseUrl: readOptionalString(env, 'DATABASE_URL'),
    idempotencyKeyTtlHours: readInteger(env, 'IDEMPOTENCY_KEY_TTL_HOURS', 48, {
      min: 24,
      max: 720,
    }),
  };
}

/** The configuration of this process: the only place the billing server reads `process.env`. */
export function loadBillingConfigFromProcess(): BillingConfig {
  return loadBillingConfig(process.env);
}
