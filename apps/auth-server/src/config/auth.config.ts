import {
  type Environment,
  type InternalAuthConfig,
  loadInternalAuthConfig,
  readHttpUrl,
  readInteger,
  readOptionalString,
} from '@zt/service-utils';
import {
  defineServiceConfig,
  type InternalClientConfig,
  type LoadedServiceConfig,
  loadInternalClientConfig,
  loadServiceConfig,
  loadServiceConfigModule,
  type ServiceConfig,
} from '@zt/service-chassis';
import { SERVICE_CLIENTS } from '@zt/contracts';
import { loadOAuthConfig, type OAuthConfig } from './oauth.config';

/** The auth server's configuration, read and validated once at boot. */
export interface AuthConfig {
  readonly service: ServiceConfig;
  /** Secret: the internal credentials. */
  readonly internalAuth: InternalAuthConfig;
  readonly client: InternalClientConfig;
  /** Secret (may carry a password): PostgreSQL URL; embedded PGlite under the data folder when absent. */
  readonly databaseUrl: string | undefined;
  /** Where billing listens (`BILLING_SERVER_URL`). */
  readonly billingUrl: string;
  /** The access tokens' `iss`: this server's own URL (`AUTH_SERVER_URL`), which the backend expects too. */
  readonly issuer: string;
  /** Lifetime of an access token in seconds (`ACCESS_TOKEN_TTL_SECONDS`, 60 to 900, default 900). */
  readonly accessTokenTtlSeconds: number;
  /** Optional file holding the private signing key as a JWK (`AUTH_SIGNING_KEY_FILE`); generated when absent. */
  readonly signingKeyFile: string | undefined;
  /** The service tokens: clients (secret-derived digests), lifetime, signing keys. */
  readonly oauth: OAuthConfig;
}

/**
 * Builds the configuration from `env`.
 * @throws ConfigError naming the variable at fault.
 */
export function loadAuthConfig(env: Environment): AuthConfig {
  const billingUrl = readHttpUrl(env, 'BILLING_SERVER_URL', 'http://127.0.0.1:6004');
  const issuer = readHttpUrl(env, 'AUTH_SERVER_URL', 'http://127.0.0.1:6001');
  return {
    service: loadServiceConfig(env, {
      name: 'auth-server',
      portVariable: 'AUTH_SERVER_PORT',
      defaultPort: 6001,
    }),
    internalAuth: loadInternalAuthConfig(env, {
      serviceName: 'auth-server',
      ownTokens: 'in-process',
    }),
    client: loadInternalClientConfig(env),
    databaseUrl: readOptionalString(env, 'DATABASE_URL'),
    billingUrl,
    issuer,
    accessTokenTtlSeconds: readInteger(env, 'ACCESS_TOKEN_TTL_SECONDS', 900, { min: 60, max: 900 }),
    signingKeyFile: readOptionalString(env, 'AUTH_SIGNING_KEY_FILE'),
    oauth: loadOAuthConfig(env, SERVICE_CLIENTS, {
      authServerUrl: issuer,
      billingServerUrl: billingUrl,
    }),
  };
}

/**
 * The auth server's configuration in `@nestjs/config`: `ConfigService.get('auth-server')`, or
 * `@Inject(AUTH_CONFIG.KEY) config: AuthConfig`.
 */
export const AUTH_CONFIG = defineServiceConfig('auth-server', loadAuthConfig);

/**
 * The configuration of this process, loaded through `ConfigModule` from `.env` in the working
 * directory (or `ENV_FILE`) under the process environment, which wins: the only place the
 * auth server reads `process.env`.
 * @throws ConfigError naming the variable at fault.
 */
export function loadAuthConfigModule(): Promise<LoadedServiceConfig<AuthConfig>> {
  return loadServiceConfigModule(AUTH_CONFIG, process.env);
}
