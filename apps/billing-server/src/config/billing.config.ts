import {
  type Environment,
  type InternalAuthConfig,
  loadInternalAuthConfig,
  loadUserProofConfig,
  readInteger,
  readOptionalString,
  type UserProofConfig,
} from '@zt/service-utils';
import {
  defineServiceConfig,
  type LoadedServiceConfig,
  loadServiceConfig,
  loadServiceConfigModule,
  type ServiceConfig,
} from '@zt/service-chassis';

/** The billing server's configuration, read and validated once at boot. */
export interface BillingConfig {
  readonly service: ServiceConfig;
  /** Secret: the internal credentials. */
  readonly internalAuth: InternalAuthConfig;
  /**
   * `USER_PROOF` (`off` by default, or `required`): whether the routes that charge, pay or read
   * a user's money also ask for that user's own proof (a user assertion).
   */
  readonly userProof: UserProofConfig;
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
  const internalAuth = loadInternalAuthConfig(env, { serviceName: 'billing-server' });
  return {
    service: loadServiceConfig(env, {
      name: 'billing-server',
      portVariable: 'BILLING_SERVER_PORT',
      defaultPort: 6004,
    }),
    internalAuth,
    userProof: loadUserProofConfig(env, internalAuth),
    databaseUrl: readOptionalString(env, 'DATABASE_URL'),
    idempotencyKeyTtlHours: readInteger(env, 'IDEMPOTENCY_KEY_TTL_HOURS', 48, {
      min: 24,
      max: 720,
    }),
  };
}

/**
 * The billing server's configuration in `@nestjs/config`: `ConfigService.get('billing-server')`, or
 * `@Inject(BILLING_CONFIG.KEY) config: BillingConfig`.
 */
export const BILLING_CONFIG = defineServiceConfig('billing-server', loadBillingConfig);

/**
 * The configuration of this process, loaded through `ConfigModule` from `.env` in the working
 * directory (or `ENV_FILE`) under the process environment, which wins: the only place the
 * billing server reads `process.env`.
 * @throws ConfigError naming the variable at fault.
 */
export function loadBillingConfigModule(): Promise<LoadedServiceConfig<BillingConfig>> {
  return loadServiceConfigModule(BILLING_CONFIG, process.env);
}
