import { LaunchedProcess, type ProcessOptions, type ServiceProcess } from './launched-process';
import { type Environment, type ServiceName, serviceEnvironment } from './stack-services';
import { builtServiceMain } from './workspace';

/** The path every service answers 200 on once it can serve (its database, its upstreams). */
export const READY_PATH = '/health/ready';

/** How to start one service. */
export interface ServiceOptions extends Omit<
  ProcessOptions,
  'name' | 'main' | 'env' | 'readyPath'
> {
  /**
   * Its environment: tokens, `DATA_DIR`, `DATABASE_URL`, limits... (nothing is inherited, and
   * no env file is read: `ENV_FILE=/dev/null` unless this names one).
   */
  readonly env: Environment;
  /** Its port; 0 (the default) for any free one, read from the line it logs. */
  readonly port?: number;
  /** Where it reaches each service: its upstreams, and itself (the auth server's issuer). */
  readonly urls?: Partial<Record<ServiceName, string>>;
  /** The script to run instead of the workspace's `dist/apps/<name>/main.js`. */
  readonly main?: string;
  /** What to call the process in messages (default: the service's name). */
  readonly label?: string;
}

/**
 * Spawns a built service with its port and URL variables set from `options`; the returned
 * process's `ready` resolves once it listens and answers `GET /health/ready` with 200.
 */
export function spawnService(name: ServiceName, options: ServiceOptions): LaunchedProcess {
  const { env, port, urls, main, label, ...processOptions } = options;
  return new LaunchedProcess({
    ...processOptions,
    name: label ?? name,
    main: main ?? builtServiceMain(name),
    // The launcher hands a service its whole environment: a `.env` in its working directory
    // must not fill in what the caller left unset.
    env: serviceEnvironment(name, { ENV_FILE: '/dev/null', ...env }, port ?? 0, urls ?? {}),
    readyPath: READY_PATH,
  });
}

/**
 * Starts a built service as its own process and resolves once it is ready (see
 * {@link spawnService}); rejects, with the end of its output, when it exits or times out.
 */
export function startService(name: ServiceName, options: ServiceOptions): Promise<ServiceProcess> {
  return spawnService(name, options).ready;
}
