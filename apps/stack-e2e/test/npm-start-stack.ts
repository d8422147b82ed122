import { freePort, inheritedProcessEnvironment, workspaceRoot } from '@zt/test-kit';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The services `npm start` runs, in start order, with the variables that place them. */
export const STACK_SERVICES = [
  {
    name: 'billing-server',
    key: 'billing',
    port: 'BILLING_SERVER_PORT',
    url: 'BILLING_SERVER_URL',
  },
  { name: 'auth-server', key: 'auth', port: 'AUTH_SERVER_PORT', url: 'AUTH_SERVER_URL' },
  {
    name: 'filesystem-server',
    key: 'filesystem',
    port: 'FILESYSTEM_SERVER_PORT',
    url: 'FILESYSTEM_SERVER_URL',
  },
  { name: 'backend', key: 'backend', port: 'BACKEND_PORT', url: 'BACKEND_URL' },
] as const;

type ServiceKey = (typeof STACK_SERVICES)[number]['key'];

/** A running `scripts/start.mjs`, on free ports, with a scratch env file and data folder. */
export interface NpmStartStack {
  /** The environment it runs with; pass it to the other scripts (invite, curl-matrix, ...). */
  readonly env: NodeJS.ProcessEnv;
  /** The scratch env file (`STACK_ENV_FILE`) that `npm start` writes on first run. */
  readonly envFile: string;
  /** Each service's port, in {@link STACK_SERVICES} order. */
  readonly ports: readonly number[];
  /** Each service's base URL, by short name. */
  readonly urls: Readonly<Record<ServiceKey, string>>;
  readonly child: ChildProcess;
  /** Resolves with `npm start`'s exit code. */
  readonly exited: Promise<number | null>;
  /** Everything it printed so far. */
  output(): string;
  /** Kills it if it still runs and removes the scratch folder. */
  cleanUp(): void;
}

/**
 * Runs `npm start` (the script itself) as a newcomer would, but on free ports, with a scratch
 * `.env` (STACK_ENV_FILE) and data folder, so a developer's own stay untouched, and embedded
 * storage whatever the caller's shell says. Resolves once it says the stack is up.
 */
export async function startNpmStart(extraEnv: NodeJS.ProcessEnv = {}): Promise<NpmStartStack> {
  const scratch = mkdtempSync(join(tmpdir(), 'npm-start-'));
  const envFile = join(scratch, '.env');
  const ports = await Promise.all(STACK_SERVICES.map(() => freePort()));
  const urls = Object.fromEntries(
    STACK_SERVICES.map((service, i) => [service.key, `http://127.0.0.1:${ports[i]}`]),
  ) as Record<ServiceKey, string>;
  const env: NodeJS.ProcessEnv = {
    ...inheritedProcessEnvironment(),
    STACK_ENV_FILE: envFile,
    DATA_DIR: join(scratch, 'data'),
    DATABASE_URL: '',
    ...extraEnv,
    ...Object.fromEntries(
      STACK_SERVICES.flatMap((service, i) => [
        [service.port, String(ports[i])],
        [service.url, urls[service.key]],
      ]),
    ),
  };
  const child = spawn(process.execPath, [join(workspaceRoot(), 'scripts', 'start.mjs')], {
    cwd: workspaceRoot(),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const cleanUp = () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(scratch, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`stack not up in time:\n${output}`)),
        240_000,
      );
      const onData = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (output.includes('Ctrl-C stops everything')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`npm start exited (code ${code}) before the stack was up:\n${output}`));
      });
    });
  } catch (error) {
    cleanUp();
    throw error;
  }
  return { env, envFile, ports, urls, child, exited, output: () => output, cleanUp };
}

/** Runs a script of `scripts/` to its end; resolves with its exit code and output. */
export function runScript(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(workspaceRoot(), 'scripts', script), ...args],
      { cwd: workspaceRoot(), env, timeout: 240_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }),
    );
  });
}
