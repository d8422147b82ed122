import { type ChildProcess, spawn } from 'node:child_process';
import { inheritedProcessEnvironment } from './config/test-environment';

/** A service running as its own process, started by {@link startServiceProcess}. */
export interface ServiceProcess {
  /** Base URL it listens on, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /**
   * Sends SIGTERM and resolves once it has exited. `graceful` is true when it shut down by
   * itself: exit code 0, or re-raised SIGTERM after its shutdown hooks (as Nest does).
   */
  stop(): Promise<{ graceful: boolean; code: number | null; signal: NodeJS.Signals | null }>;
}

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
  /** How long to wait for its `listening on` line. */
  readonly startTimeoutMs?: number;
}

const LISTENING = /listening on (http:\/\/[^\s"]+)/;

/**
 * Starts a built service as a child process, as an operator would, and resolves once it
 * logs `listening on <url>` (give it port 0 to get a free one). Rejects with its output
 * when it exits or stays silent instead.
 */
export function startServiceProcess(options: ServiceProcessOptions): Promise<ServiceProcess> {
  const child = spawnService(options);
  let output = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const { code, signal } = await exited;
    return { graceful: code === 0 || signal === 'SIGTERM', code, signal };
  };

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `service did not start within ${options.startTimeoutMs ?? 60_000} ms:\n${output}`,
        ),
      );
    }, options.startTimeoutMs ?? 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = LISTENING.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ url: match[1], child, output: () => output, stop });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(
        new Error(`service exited (code ${code}, signal ${signal}) before listening:\n${output}`),
      );
    });
  });
}

/** Runs a built service that is expected to refuse to start; resolves with its exit code and output. */
export async function runServiceToExit(
  options: ServiceProcessOptions,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnService(options);
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

/** Runs `node <main>` with only the given variables (and harmless inherited ones), piped. */
function spawnService(options: ServiceProcessOptions) {
  return spawn(process.execPath, [options.main], {
    cwd: options.cwd,
    env: {
      ...inheritedProcessEnvironment(),
      ...(options.cwd === undefined && { ENV_FILE: '/dev/null' }),
      ...definedOnly(options.env),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function definedOnly(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
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
