import {
  type Environment,
  type InternalAuthConfig,
  loadInternalAuthConfig,
  readHttpUrl,
} from '@zt/service-utils';
import {
  type InternalClientConfig,
  loadInternalClientConfig,
  loadServiceConfig,
  type ServiceConfig,
} from '@zt/service-chassis';

/** The reports service's configuration, read and validated once at boot. */
export interface ReportsConfig {
  /** `HOST`, `REPORTS_PORT`, `DATA_DIR`, `MAX_JSON_BODY_BYTES`, `LOG_FORMAT`, `LOG_LEVEL`. */
  readonly service: ServiceConfig;
  /** Secret: the internal credential, accepted and sent (`INTERNAL_SERVICE_TOKEN`, ...). */
  readonly internalAuth: InternalAuthConfig;
  /** Timeouts, retries and breakers of internal calls (`INTERNAL_HTTP_TIMEOUT_MS`, ...). */
  readonly client: InternalClientConfig;
  /** Where the ledger service listens (`LEDGER_URL`). */
  readonly ledgerUrl: string;
}

/**
 * Builds the configuration from `env`.
 * @throws ConfigError naming the variable at fault, never its value.
 */
export function loadReportsConfig(env: Environment): ReportsConfig {
  return {
    service: loadServiceConfig(env, {
      name: 'reports',
      portVariable: 'REPORTS_PORT',
      defaultPort: 7101,
    }),
    internalAuth: loadInternalAuthConfig(env),
    client: loadInternalClientConfig(env),
    ledgerUrl: readHttpUrl(env, 'LEDGER_URL', 'http://127.0.0.1:7102'),
  };
}

/** The configuration of this process: the only place the service reads `process.env`. */
export function loadReportsConfigFromProcess(): ReportsConfig {
  return loadReportsConfig(process.env);
}
