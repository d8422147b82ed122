import {
  type Environment,
  type InternalAuthConfig,
  loadInternalAuthConfig,
  loadUserProofConfig,
  readInteger,
  type UserProofConfig,
} from '@zt/service-utils';
import {
  defineServiceConfig,
  type LoadedServiceConfig,
  loadServiceConfig,
  loadServiceConfigModule,
  type ServiceConfig,
} from '@zt/service-chassis';

const MIB = 1024 * 1024;

/** Default of `FS_MAX_FILE_BYTES`: 10 MiB. */
export const DEFAULT_MAX_FILE_BYTES = 10 * MIB;
/** Default of `FS_MAX_USER_BYTES`: 100 MiB. */
export const DEFAULT_MAX_USER_BYTES = 100 * MIB;
/** Default of `FS_MAX_USER_ENTRIES`: files and folders of one user. */
export const DEFAULT_MAX_USER_ENTRIES = 10_000;
/** Default of `FS_MAX_PATH_DEPTH`: segments of a file path. */
export const DEFAULT_MAX_PATH_DEPTH = 32;
/** Default of `FS_WRITE_JOURNAL_DAYS`: days a write journal record is kept. */
export const DEFAULT_WRITE_JOURNAL_DAYS = 30;

/** The filesystem server's configuration, read and validated once at boot. */
export interface FilesystemConfig {
  /** Shared settings; `service.dataDir` (`DATA_DIR/filesystem-server`) holds one folder per user. */
  readonly service: ServiceConfig;
  /** Secret: the internal credentials. */
  readonly internalAuth: InternalAuthConfig;
  /**
   * `USER_PROOF` (`off` by default, or `required`): whether the file routes also ask for the
   * user's own proof (a user assertion), not only the calling service's word for the user.
   */
  readonly userProof: UserProofConfig;
  /** Largest file in bytes (`FS_MAX_FILE_BYTES`, default 10 MiB); 413 beyond. */
  readonly maxFileBytes: number;
  /** Largest total of one user's files in bytes (`FS_MAX_USER_BYTES`, default 100 MiB); 413 beyond. */
  readonly maxUserBytes: number;
  /** Most files and folders one user may have (`FS_MAX_USER_ENTRIES`, default 10,000); 413 beyond. */
  readonly maxUserEntries: number;
  /** Most segments in a file path (`FS_MAX_PATH_DEPTH`, default 32); 400 beyond. */
  readonly maxPathDepth: number;
  /**
   * Days the outcome of a write sent with `X-Write-ID` is kept (`FS_WRITE_JOURNAL_DAYS`,
   * 1-3650, default 30). A caller must resolve an unknown outcome within this time: past it,
   * the write id is unknown again.
   */
  readonly writeJournalDays: number;
}

/**
 * Builds the configuration from `env`.
 * @throws ConfigError naming the variable at fault.
 */
export function loadFilesystemConfig(env: Environment): FilesystemConfig {
  const internalAuth = loadInternalAuthConfig(env, { serviceName: 'filesystem-server' });
  return {
    service: loadServiceConfig(env, {
      name: 'filesystem-server',
      portVariable: 'FILESYSTEM_SERVER_PORT',
      defaultPort: 6002,
    }),
    internalAuth,
    userProof: loadUserProofConfig(env, internalAuth),
    // Upper bounds keep byte counts exact in a JavaScript number; a file limit above the user
    // quota is allowed and simply never reached (the quota answers first).
    maxFileBytes: readInteger(env, 'FS_MAX_FILE_BYTES', DEFAULT_MAX_FILE_BYTES, {
      min: 1,
      max: 2 ** 40,
    }),
    maxUserBytes: readInteger(env, 'FS_MAX_USER_BYTES', DEFAULT_MAX_USER_BYTES, {
      min: 1,
      max: 2 ** 50,
    }),
    // Folders count as entries, so that no user can grow a tree whose walk would slow the
    // service for others; a path of at most 1024 characters has at most 512 segments.
    maxUserEntries: readInteger(env, 'FS_MAX_USER_ENTRIES', DEFAULT_MAX_USER_ENTRIES, {
      min: 1,
      max: 1_000_000,
    }),
    maxPathDepth: readInteger(env, 'FS_MAX_PATH_DEPTH', DEFAULT_MAX_PATH_DEPTH, {
      min: 1,
      max: 512,
    }),
    writeJournalDays: readInteger(env, 'FS_WRITE_JOURNAL_DAYS', DEFAULT_WRITE_JOURNAL_DAYS, {
      min: 1,
      max: 3650,
    }),
  };
}

/**
 * The filesystem server's configuration in `@nestjs/config`: `ConfigService.get('filesystem-server')`, or
 * `@Inject(FILESYSTEM_CONFIG.KEY) config: FilesystemConfig`.
 */
export const FILESYSTEM_CONFIG = defineServiceConfig('filesystem-server', loadFilesystemConfig);

/**
 * The configuration of this process, loaded through `ConfigModule` from `.env` in the working
 * directory (or `ENV_FILE`) under the process environment, which wins: the only place the
 * filesystem server reads `process.env`.
 * @throws ConfigError naming the variable at fault.
 */
export function loadFilesystemConfigModule(): Promise<LoadedServiceConfig<FilesystemConfig>> {
  return loadServiceConfigModule(FILESYSTEM_CONFIG, process.env);
}
