import {
  type Environment,
  type InternalAuthConfig,
  loadInternalAuthConfig,
  readOptionalString,
} from '@zt/service-utils';
import { loadServiceConfig, type ServiceConfig } from '@zt/service-chassis';

/** The guard fixture's configuration, read once at boot like a service's. */
export interface GuardServerConfig {
  readonly service: ServiceConfig;
  /** Secret: the internal credential the guarded routes accept. */
  readonly internalAuth: InternalAuthConfig;
  /** PostgreSQL URL for the `/.../database/:user_id` routes; those answer 503 without it. */
  readonly databaseUrl: string | undefined;
}

/**
 * The audience whose service tokens the guarded routes accept in `token+jwt` and `jwt` modes:
 * a real service's name, so that a real auth server issues tokens for it (its policy knows no
 * `bench-guard-server`). The guarded routes ask for that service's balance-read scope.
 */
export const GUARD_SERVER_AUDIENCE = 'billing-server';

/**
 * Reads `BENCH_PORT` (default 0: any free port), the shared service variables (with
 * `INTERNAL_AUTH_MODE` and, outside `token` mode, `AUTH_SERVER_URL`) and `DATABASE_URL`.
 */
export function loadGuardServerConfig(env: Environment): GuardServerConfig {
  return {
    service: loadServiceConfig(env, {
      name: 'bench-guard-server',
      portVariable: 'BENCH_PORT',
      defaultPort: 0,
    }),
    internalAuth: loadInternalAuthConfig(env, { serviceName: GUARD_SERVER_AUDIENCE }),
    databaseUrl: readOptionalString(env, 'DATABASE_URL'),
  };
}

/** The configuration of this process: the only place the fixture reads `process.env`. */
export function loadGuardServerConfigFromProcess(): GuardServerConfig {
  return loadGuardServerConfig(process.env);
}
