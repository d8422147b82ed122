import { definedOnly, READY_PATH, type ServiceProcess, startProcess } from '@zt/stack-launcher';
import { spawn } from 'node:child_process';
import { basename, dirname } from 'node:path';
import { inheritedProcessEnvironment } from './config/test-environment';

export type { ServiceProcess } from '@zt/stack-launcher';

/** How to start a service process. */
export interface ServiceProcessOptions {
  /** Path of the built `main.js`. */
  readonly main: string;
  /** Its environment (only these variables and a few harmless inherited ones are set). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** How long to wait until it listens and is ready. */
  readonly startTimeoutMs?: number;
}

/**
 * Starts one built service as a child process, as an operator would (the process of the
 * stack launcher, `@zt/stack-launcher`), and resolves once it logs `listening on <url>` and
 * answers `GET /health/ready` with 200 (give it port 0 to get a free one). Rejects with its
 * output when it exits or stays silent instead. For several services wired to each other,
 * use `launchStack`.
 */
export function startServiceProcess(options: ServiceProcessOptions): Promise<ServiceProcess> {
  return startProcess({
    name: basename(dirname(options.main)),
    main: options.main,
    env: { ...inheritedProcessEnvironment(), ...options.env },
    readyPath: READY_PATH,
    startTimeoutMs: options.startTimeoutMs,
  });
}

/** Runs a built service that is expected to refuse to start; resolves with its exit code and output. */
export async function runServiceToExit(
  options: ServiceProcessOptions,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [options.main], {
    env: definedOnly({ ...inheritedProcessEnvironment(), ...options.env }),
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
