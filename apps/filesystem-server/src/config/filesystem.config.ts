import {
  type Environment,
  type InternalAuthConfig,
  loadInternalAuthConfig,
  loadServiceConfig,
  readInteger,
  type ServiceConfig,
} from '@zt/service-utils';

const MIB = 1024 * 1024;

/** Default of `FS_MAX_FILE_BYTES`: 10 MiB. */
export const DEFAULT_MAX_FILE_BYTES = 10 * MIB;
/** Default of `FS_MAX_USER_BYTES`: 100 MiB. */
export const DEFAULT_MAX_USER_BYTES = 100 * MIB;

/** The filesystem server's configuration, read and validated once at boot. */
export interface FilesystemConfig {
  /** Shared settings; `service.dataDir` (`DATA_DIR/filesystem-server`) holds one folder per user. */
  readonly service: ServiceConfig;
  /** Secret: the internal credentials. */
  readonly internalAuth: InternalAuthConfig;
  /** Largest file in bytes (`FS_MAX_FILE_BYTES`, default 10 MiB); 413 beyond. */
  readonly maxFileBytes: number;
  /** Largest total of one user's files in bytes (`FS_MAX_USER_BYTES`, default 100 MiB); 413 beyond. */
  readonly maxUserBytes: number;
}

/**
 * Builds the configuration from `env`.
 * @throws ConfigError naming the variable at fault.
 */
export function loadFilesystemConfig(env: Environment): FilesystemConfig {
  return {
    service: loadServiceConfig(env, {
      name: 'filesystem-server',
      portVariable: 'FILESYSTEM_SERVER_PORT',
      defaultPort: 6002,
    }),
    internalAuth: loadInternalAuthConfig(env),
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
  };
}

/** The configuration of this process: the only place the filesystem server reads `process.env`. */
export function loadFilesystemConfigFromProcess(): FilesystemConfig {
  return loadFilesystemConfig(process.env);
}
