import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, localUrl, type ServiceName, STACK_SERVICES } from '@zt/stack-launcher';
import { inheritedProcessEnvironment, workspaceRoot } from '@zt/test-kit';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One line `npm start` wrote in its JSON form (standard output not a terminal, or --json). */
export interface ConsoleLine {
  readonly level: string;
  readonly time: string;
  readonly service: string;
  readonly msg?: string;
  readonly [field: string]: unknown;
}

/** A running `scripts/start.ts`, on free ports, with a scratch env file and data folder. */
export interface NpmStartStack {
  /** The environment it runs with; pass it to the other scripts (invite, curl-matrix, ...). */
  readonly env: NodeJS.ProcessEnv;
  /** The scratch env file (`STACK_ENV_FILE`) that `npm start` writes on first run. */
  readonly envFile: string;
  /** Each service's port. */
  readonly ports: Readonly<Record<ServiceName, number>>;
  /** Each service's base URL. */
  readonly urls: Readonly<Record<ServiceName, string>>;
  readonly child: ChildProcess;
  /** Resolves with `npm start`'s exit code. */
  readonly exited: Promise<number | null>;
  /** Everything it printed so far, standard output and error. */
  output(): string;
  /** Its standard output, line by line. */
  stdoutLines(): string[];
  /**
   * Stops it if it still runs (SIGTERM, as Ctrl-C would: it stops its services; SIGKILL to
   * the whole process group after 30 s) and removes the scratch folder.
   */
  cleanUp(): Promise<void>;
}

/**
 * Runs `npm start` (the script itself, with `args`) as a newcomer would, but on free ports,
 * with a scratch `.env` (STACK_ENV_FILE) and data folder, so a developer's own stay
 * untouched, and embedded storage whatever the caller's shell says. Its output is a pipe, as
 * `npm start | npx pino-pretty` has it. Resolves once it says the stack is up.
 */
export async function startNpmStart(
  extraEnv: NodeJS.ProcessEnv = {},
  args: readonly string[] = [],
): Promise<NpmStartStack> {
  const scratch = mkdtempSync(join(tmpdir(), 'npm-start-'));
  const envFile = join(scratch, '.env');
  const ports = {} as Record<ServiceName, number>;
  const urls = {} as Record<ServiceName, string>;
  for (const service of STACK_SERVICES) {
    ports[service.name] = await freePort();
    urls[service.name] = localUrl(ports[service.name]);
  }
  const env: NodeJS.ProcessEnv = {
    ...inheritedProcessEnvironment(),
    ...SCRIPT_ENVIRONMENT,
    STACK_ENV_FILE: envFile,
    DATA_DIR: join(scratch, 'data'),
    DATABASE_URL: '',
    ...extraEnv,
    ...Object.fromEntries(
      STACK_SERVICES.flatMap((service) => [
        [service.portVariable, String(ports[service.name])],
        [service.urlVariable, urls[service.name]],
      ]),
    ),
  };
  const child = spawn(process.execPath, scriptArguments('start.ts', args), {
    cwd: workspaceRoot(),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  let stdout = '';
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const cleanUp = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const stopped = await Promise.race([
        exited.then(() => true),
        sleep(30_000).then(() => false),
      ]);
      // Its own group (detached): the services it started go with it.
      if (!stopped && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }
    rmSync(scratch, { recursive: true, force: true });
  };
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
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
    await cleanUp();
    throw error;
  }
  return {
    env,
    envFile,
    ports,
    urls,
    child,
    exited,
    output: () => output,
    stdoutLines: () => stdout.split('\n').filter((line) => line !== ''),
    cleanUp,
  };
}

/**
 * What `node` runs a script of `scripts/` with: tsx's loader in the node process itself (not
 * the tsx command, which would run the script in a child), so that a signal sent to the
 * process reaches the script. Its environment needs {@link SCRIPT_ENVIRONMENT}, as the npm
 * scripts' `--tsconfig tsconfig.base.json`.
 */
/** What a script's environment needs: tsx maps `@zt/*` imports to the libraries' source. */
export const SCRIPT_ENVIRONMENT = {
  TSX_TSCONFIG_PATH: join(workspaceRoot(), 'tsconfig.base.json'),
} as const;

export function scriptArguments(script: string, args: readonly string[]): string[] {
  return ['--import', 'tsx', join(workspaceRoot(), 'scripts', script), ...args];
}

/** How a script of `scripts/` ended. */
export interface ScriptRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Standard output, then standard error. */
  readonly output: string;
}

/**
 * Runs a script of `scripts/` to its end with `env` as its whole environment; resolves with
 * its exit code and output.
 */
export function runScript(
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 240_000,
): Promise<ScriptRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      scriptArguments(script, args),
      {
        cwd: workspaceRoot(),
        env: { ...SCRIPT_ENVIRONMENT, ...env },
        timeout: timeoutMs,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) =>
        resolve({
          code: error ? Number(error.code ?? 1) : 0,
          stdout,
          stderr,
          output: stdout + stderr,
        }),
    );
  });
}

/**
 * Runs a script of `scripts/` with only `env` (and what a child needs) set, reading no env
 * file: a developer's `.env` never configures it.
 */
export function runScriptAlone(
  script: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<ScriptRun> {
  return runScript(
    script,
    args,
    // The scripts look for this file, which does not exist.
    { ...inheritedProcessEnvironment(), STACK_ENV_FILE: '/nonexistent/.env', ...env },
    600_000,
  );
}

/**
 * A newcomer on a running `npm start`: an invite from `npm run invite` (as the operator, in
 * the stack's mode), `POST /register` with it and, once registered, `POST /login`. Resolves
 * with the registration's status and the access token.
 */
export async function signUpNewcomer(
  stack: Pick<NpmStartStack, 'env' | 'urls'>,
  email: string,
  password: string,
): Promise<{ registered: number; accessToken?: string }> {
  const invite = await runScript('invite.ts', ['pro'], stack.env);
  if (invite.code !== 0) throw new Error(`npm run invite exited ${invite.code}: ${invite.output}`);
  const json = { 'Content-Type': 'application/json' };
  const registered = await fetch(`${stack.urls['auth-server']}/register`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ email, password, invite_code: invite.output.trim() }),
  });
  await registered.arrayBuffer();
  if (registered.status !== 201) return { registered: registered.status };
  const login = await fetch(`${stack.urls['auth-server']}/login`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ email, password }),
  });
  const { access_token } = (await login.json()) as { access_token: string };
  return { registered: registered.status, accessToken: access_token };
}
