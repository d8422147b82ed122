import { parseAmount } from '@zt/contracts';
import {
  ConfigError,
  type Environment,
  type InternalAuthConfig,
  loadInternalAuthConfig,
  readChoice,
  readHttpUrl,
  readInteger,
  readKeySetOptions,
  readString,
  type ServiceClientCredentials,
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

/** How the backend fetches and caches the auth server's public keys. */
export interface JwksConfig {
  /** Deadline of one JWKS fetch (`JWKS_TIMEOUT_MS`, 100 to 60000, default 3000). */
  readonly timeoutMs: number;
  /**
   * The shortest time between two fetches caused by tokens with an unknown `kid`
   * (`JWKS_COOLDOWN_MS`, 1000 to 3600000, default 30000), so forged `kid`s cannot make the
   * backend hammer the auth server.
   */
  readonly cooldownMs: number;
  /** How long fetched keys count as fresh before the next token refetches them (`JWKS_CACHE_MAX_AGE_MS`, 1000 to 86400000, default 600000). */
  readonly cacheMaxAgeMs: number;
}

/**
 * Whether the backend sends its users' proof upstream (`USER_PROOF`, issue 14 item 5): `off`
 * (the default), or `required` (the stack's one switch: the callees require it, so the
 * backend sends it): on each call that acts for a user, a user assertion exchanged at the
 * auth server for the user's access token, with the backend's own client credentials.
 */
export type UserProofOptions =
  | { readonly mode: 'off' }
  | {
      readonly mode: 'required';
      /** Secret: the backend's client at the token endpoint. */
      readonly client: ServiceClientCredentials;
      /** The deadline of one exchange (`INTERNAL_HTTP_TIMEOUT_MS`). */
      readonly timeoutMs: number;
    };

/** The backend's configuration, read and validated once at boot. */
export interface BackendConfig {
  readonly service: ServiceConfig;
  /** Secret: the internal credential the backend sends to billing and filesystem. */
  readonly internalAuth: InternalAuthConfig;
  readonly client: InternalClientConfig;
  /** `USER_PROOF`: whether calls for a user carry the user's own proof. */
  readonly userProof: UserProofOptions;
  /** The auth server (`AUTH_SERVER_URL`): the access tokens' expected `iss`, and where the JWKS lives. */
  readonly authUrl: string;
  /** Where billing listens (`BILLING_SERVER_URL`). */
  readonly billingUrl: string;
  /** Where the filesystem server listens (`FILESYSTEM_SERVER_URL`). */
  readonly filesystemUrl: string;
  readonly jwks: JwksConfig;
  /**
   * The price of one file write in credits, as the decimal text billing is sent
   * (`FILE_WRITE_PRICE`, default `0.01`; at most 6 decimals, > 0, <= 1000000).
   */
  readonly fileWritePrice: string;
  /**
   * The largest upload the backend reads into memory before charging, in bytes
   * (`BACKEND_MAX_FILE_BYTES`, else `FS_MAX_FILE_BYTES`, else 10 MiB; 1 to 1 GiB). 413 beyond.
   */
  readonly maxFileBytes: number;
  /**
   * The bytes of upload bodies the backend holds in memory at once, all users together
   * (`BACKEND_UPLOAD_BUDGET_BYTES`, default 64 MiB; at least `maxFileBytes`, at most 1 TiB).
   * An upload the budget cannot hold now is 503, before anything is read or charged.
   */
  readonly uploadBudgetBytes: number;
  /**
   * Age after which the resolver settles a metered write that its request left open
   * (`WRITE_SETTLE_AFTER_SECONDS`, 1 to 86400, default 60): well past any live request, which
   * settles its own write within a few internal timeouts.
   */
  readonly writeSettleAfterSeconds: number;
  /**
   * How often the auth server's revocation feed is read (`REVOCATION_POLL_MS`, 100 to 60000,
   * default 2000): a logout or password change made through another backend counts here
   * within about this long.
   */
  readonly revocationPollMs: number;
  /** How often the resolver looks for such writes (`WRITE_SETTLE_INTERVAL_MS`, 100 to 3600000, default 10000). */
  readonly writeSettleIntervalMs: number;
}

const DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024;
const FILE_BYTES_RANGE = { min: 1, max: 1024 * 1024 * 1024 };
const DEFAULT_UPLOAD_BUDGET_BYTES = 64 * 1024 * 1024;
const UPLOAD_BUDGET_RANGE = { min: 1, max: 1024 ** 4 };

/**
 * Builds the configuration from `env`.
 * @throws ConfigError naming the variable at fault.
 */
export function loadBackendConfig(env: Environment): BackendConfig {
  const maxFileBytes = readMaxFileBytes(env);
  const internalAuth = loadInternalAuthConfig(env, {
    serviceName: 'backend',
    ownTokens: 'token-endpoint',
  });
  const client = loadInternalClientConfig(env);
  return {
    service: loadServiceConfig(env, {
      name: 'backend',
      portVariable: 'BACKEND_PORT',
      defaultPort: 8000,
    }),
    internalAuth,
    client,
    userProof: readUserProof(env, internalAuth, client.timeoutMs),
    authUrl: readHttpUrl(env, 'AUTH_SERVER_URL', 'http://127.0.0.1:6001'),
    billingUrl: readHttpUrl(env, 'BILLING_SERVER_URL', 'http://127.0.0.1:6004'),
    filesystemUrl: readHttpUrl(env, 'FILESYSTEM_SERVER_URL', 'http://127.0.0.1:6002'),
    jwks: readKeySetOptions(env),
    fileWritePrice: readCreditAmount(env, 'FILE_WRITE_PRICE', '0.01'),
    maxFileBytes,
    uploadBudgetBytes: readUploadBudgetBytes(env, maxFileBytes),
    writeSettleAfterSeconds: readInteger(env, 'WRITE_SETTLE_AFTER_SECONDS', 60, {
      min: 1,
      max: 86_400,
    }),
    revocationPollMs: readInteger(env, 'REVOCATION_POLL_MS', 2000, { min: 100, max: 60_000 }),
    writeSettleIntervalMs: readInteger(env, 'WRITE_SETTLE_INTERVAL_MS', 10_000, {
      min: 100,
      max: 3_600_000,
    }),
  };
}

/**
 * The backend's configuration in `@nestjs/config`: `ConfigService.get('backend')`, or
 * `@Inject(BACKEND_CONFIG.KEY) config: BackendConfig`.
 */
export const BACKEND_CONFIG = defineServiceConfig('backend', loadBackendConfig);

/**
 * The configuration of this process, loaded through `ConfigModule` from `.env` in the working
 * directory (or `ENV_FILE`) under the process environment, which wins: the only place the
 * backend reads `process.env`.
 * @throws ConfigError naming the variable at fault.
 */
export function loadBackendConfigModule(): Promise<LoadedServiceConfig<BackendConfig>> {
  return loadServiceConfigModule(BACKEND_CONFIG, process.env);
}

/**
 * `USER_PROOF`: `off` (default) or `required`, which needs the backend's client secret and
 * service tokens (`INTERNAL_AUTH_MODE` token+jwt or jwt): the exchange authenticates as the
 * backend. The same word as at billing and the filesystem, so one `.env` serves the stack.
 */
function readUserProof(
  env: Environment,
  internalAuth: InternalAuthConfig,
  timeoutMs: number,
): UserProofOptions {
  const mode = readChoice(env, 'USER_PROOF', ['off', 'required'] as const, 'off');
  if (mode === 'off') return { mode };
  if (!internalAuth.serviceClient) {
    throw new ConfigError(
      'USER_PROOF',
      'required needs INTERNAL_AUTH_MODE token+jwt or jwt and BACKEND_CLIENT_SECRET: the backend ' +
        "exchanges each user's token at the auth server as its own client",
    );
  }
  return { mode, client: internalAuth.serviceClient, timeoutMs };
}

function readCreditAmount(env: Environment, variable: string, fallback: string): string {
  const value = readString(env, variable, fallback);
  // The amount billing accepts (DESIGN section 5), by billing's own rule.
  if (parseAmount(value) === undefined) {
    throw new ConfigError(
      variable,
      'must be a credit amount greater than 0 and at most 1000000, with at most 6 decimals (e.g. 0.01)',
    );
  }
  return value;
}

function readMaxFileBytes(env: Environment): number {
  if (env['BACKEND_MAX_FILE_BYTES']?.trim()) {
    return readInteger(env, 'BACKEND_MAX_FILE_BYTES', DEFAULT_MAX_FILE_BYTES, FILE_BYTES_RANGE);
  }
  return readInteger(env, 'FS_MAX_FILE_BYTES', DEFAULT_MAX_FILE_BYTES, FILE_BYTES_RANGE);
}

// Below the largest upload, an upload of that size could never be held: every one would be
// refused with a 503 that invites retries forever. Refused at boot instead, also when the
// default is what falls short (a larger upload limit needs a budget chosen with it).
function readUploadBudgetBytes(env: Environment, maxFileBytes: number): number {
  const budget = readInteger(
    env,
    'BACKEND_UPLOAD_BUDGET_BYTES',
    DEFAULT_UPLOAD_BUDGET_BYTES,
    UPLOAD_BUDGET_RANGE,
  );
  if (budget < maxFileBytes) {
    throw new ConfigError(
      'BACKEND_UPLOAD_BUDGET_BYTES',
      `must be at least the largest upload, ${maxFileBytes} bytes (BACKEND_MAX_FILE_BYTES, else ` +
        `FS_MAX_FILE_BYTES; the budget's default is ${DEFAULT_UPLOAD_BUDGET_BYTES})`,
    );
  }
  return budget;
}
