import { definedOnly, READY_PATH, type ServiceProcess, startProcess } from '@zt/stack-launcher';
import { spawn } from 'node:child_process';
import { basename, dirname } from 'node:path';
import { inheritedProcessEnvironment } from './config/test-environment';

export type { ServiceProcess } from '@zt/stack-launcher';

/** How to start a service process. */
export interface ServiceProcessOptions {
  /** Path of the built `main.js`. */
  readonly main: string;
  /**
   * Its environment: only these variables and a few harmless inherited ones are set, and,
   * without `cwd`, it reads no env file (`ENV_FILE=/dev/null`, unless `env` names one), so a
   * developer's `.env` never configures a test's service.
   */
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Its working directory, where it reads `.env` (as an operator's service does) and resolves
   * a relative `DATA_DIR`. Default: the test runner's own, without reading any `.env` there.
   */
  readonly cwd?: string;
  /** The path that answers 200 once it is ready (default `/health/ready`, as our services). */
  readonly readyPath?: string;
  /** How long to wait until it listens and is ready. */
  readonly startTimeoutMs?: number;
}

/**
 * Starts one built service as a child process, as an operator would (the process of the
 * stack launcher, `@zt/stack-launcher`), and resolves once it logs `listening on <url>` and
 * answers `GET /health/ready` (or `readyPath`) with 200 (give it port 0 to get a free one). Rejects with its
 * output when it exits or stays silent instead. For several services wired to each other,
 * use `launchStack`.
 */
export function startServiceProcess(options: ServiceProcessOptions): Promise<ServiceProcess> {
  return startProcess({
    name: basename(dirname(options.main)),
    main: options.main,
    cwd: options.cwd,
    env: environmentOf(options),
    readyPath: options.readyPath ?? READY_PATH,
    startTimeoutMs: options.startTimeoutMs,
  });
}

/** Runs a built service that is expected to refuse to start; resolves with its exit code and output. */
export async function runServiceToExit(
  options: ServiceProcessOptions,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [options.main], {
    cwd: options.cwd,
    env: definedOnly(environmentOf(options)),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.startTimeoutMs ?? 60_000);
  const code = await new Promise<number | null>((resolve) =>
    child.once('exit', (exitCode) => resolve(exitCode)),
  );
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Only the given variables and harmless inherited ones; no env file unless in a `cwd`. */
function environmentOf(options: ServiceProcessOptions): Record<string, string | undefined> {
  return {
    ...inheritedProcessEnvironment(),
    ...(options.cwd === undefined && { ENV_FILE: '/dev/null' }),
    ...options.env,
  };
}

/** The JSON lines `service` has written so far, parsed (other lines are left out). */
export function jsonLogLines(service: ServiceProcess): Record<string, unknown>[] {
  return service
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/**
 * The first JSON line of `service` that `matches`, waiting up to `timeoutMs` for it: a line
 * about a request may reach the pipe just after the answer reaches the test. `undefined` when
 * none came.
 */
export async function waitForLogLine(
  service: ServiceProcess,
  matches: (line: Record<string, unknown>) => boolean,
  timeoutMs = 2000,
): Promise<Record<string, unknown> | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = jsonLogLines(service).find(matches);
    if (found || Date.now() > deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
