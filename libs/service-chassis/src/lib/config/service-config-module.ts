import type { DynamicModule } from '@nestjs/common';
import { ConfigModule, getConfigToken, registerAs } from '@nestjs/config';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, type Environment, readOptionalString } from '@zt/service-utils';

/**
 * A service's typed configuration as `@nestjs/config` registers it: under `namespace`
 * (`configService.get<T>(namespace)`), injectable with `@Inject(definition.KEY)` as a
 * `registerAs` configuration is.
 */
export interface ServiceConfigDefinition<T extends object> {
  /** The key of the typed object in `ConfigService` (the service's name). */
  readonly namespace: string;
  /** Injection token of the typed object: `@Inject(definition.KEY) config: T`. */
  readonly KEY: string;
  /**
   * Builds and validates the typed object from an environment (a record of strings).
   * @throws ConfigError naming the variable at fault.
   */
  readonly load: (env: Environment) => T;
}

/** Declares a service's typed configuration: its namespace and the function that builds it. */
export function defineServiceConfig<T extends object>(
  namespace: string,
  load: (env: Environment) => T,
): ServiceConfigDefinition<T> {
  return { namespace, KEY: getConfigToken(namespace), load };
}

/** What {@link loadServiceConfigModule} gives a service's `main.ts`. */
export interface LoadedServiceConfig<T extends object> {
  /** The validated, typed configuration, for building the root module. */
  readonly config: T;
  /**
   * `ConfigModule`, global, holding the environment and the typed object: the root module
   * imports it, so that `ConfigService` and `@Inject(definition.KEY)` work everywhere.
   */
  readonly configModule: DynamicModule;
}

/** The variable that names the env file when it is not `.env` in the working directory. */
export const ENV_FILE_VARIABLE = 'ENV_FILE';

/**
 * The env file a service reads: `ENV_FILE` (relative to the working directory) when the
 * process environment sets it, else `.env` in the working directory. `ENV_FILE` is read from
 * the process environment only: it cannot name itself from inside a file.
 * @returns the file's absolute path (a default `.env` that does not exist is simply not read).
 * @throws ConfigError naming `ENV_FILE` when it names a file that does not exist.
 */
export function envFileOf(processEnv: Environment, workingDirectory: string): string {
  const named = readOptionalString(processEnv, ENV_FILE_VARIABLE);
  if (named === undefined) return resolve(workingDirectory, '.env');
  const path = resolve(workingDirectory, named);
  // A default `.env` may be absent (a container gets its variables from its environment); a
  // file the operator named is expected, and running without it would be a silent surprise.
  if (!existsSync(path)) {
    throw new ConfigError(ENV_FILE_VARIABLE, 'names a file that does not exist');
  }
  return path;
}

/**
 * Loads a service's configuration through `ConfigModule.forRoot`, once, at boot: the env file
 * ({@link envFileOf}) is read if present, the process environment wins over it for every
 * variable it sets (even to an empty value), and `definition.load` validates the result
 * (ConfigModule's `validate` hook) into the typed object. The env file's variables are then
 * visible in `process.env` too, as `@nestjs/config` always does.
 *
 * @param processEnv the process environment (an app's `config/` folder passes `process.env`);
 *   only `ENV_FILE` is read from it here, `ConfigModule` reads the rest itself.
 * @throws ConfigError naming the variable at fault (`runService` prints it as one line).
 */
export async function loadServiceConfigModule<T extends object>(
  definition: ServiceConfigDefinition<T>,
  processEnv: Environment,
  workingDirectory: string = process.cwd(),
): Promise<LoadedServiceConfig<T>> {
  const loaded: { config?: T } = {};
  const configModule = await ConfigModule.forRoot({
    isGlobal: true,
    envFilePath: envFileOf(processEnv, workingDirectory),
    // Returned as received: ConfigModule copies what it returns into process.env, which must
    // stay a record of the variables (never the typed object's fields, secrets among them).
    validate: (env) => {
      loaded.config = definition.load(env);
      return env;
    },
    load: [registerAs(definition.namespace, () => loaded.config as T)],
  });
  if (loaded.config === undefined) {
    throw new Error(`ConfigModule did not validate the ${definition.namespace} configuration`);
  }
  return { config: loaded.config, configModule };
}
