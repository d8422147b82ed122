import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { get } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';
import { definedOnly, type Environment } from './stack-services';

/** The line every service (and every bench fixture) logs once it accepts connections. */
const LISTENING = /listening on (http:\/\/[^\s"]+)/;
const DEFAULT_START_TIMEOUT_MS = 60_000;
const DEFAULT_STOP_GRACE_MS = 10_000;
const POLL_MS = 50;
const PROBE_TIMEOUT_MS = 2_000;
/** What is kept of a process's output when not all of it is (for error messages). */
const TAIL_LINES = 200;
const TAIL_BYTES = 16 * 1024;

/** How a process ended. */
export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** How a process ended when it was asked to stop. */
export interface StopResult extends ProcessExit {
  /**
   * True when it shut down by itself: exit code 0, or SIGTERM re-raised after its shutdown
   * hooks (as Nest does); false when it had to be killed, or had died before.
   */
  readonly graceful: boolean;
}

/** One line a process wrote. */
export interface OutputLine {
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
}

/** How to start a process. */
export interface ProcessOptions {
  /** What to call it in messages. */
  readonly name: string;
  /** The script `node` runs (a built `main.js`). */
  readonly main: string;
  /** Arguments after the script. */
  readonly args?: readonly string[];
  /** Options of `node` itself, before the script (e.g. `--cpu-prof`). */
  readonly nodeArgs?: readonly string[];
  /** Its whole environment: nothing else is inherited. */
  readonly env: Environment;
  readonly cwd?: string;
  /**
   * Once it listens, this path is asked until it answers 200 (`/health/ready` for a service);
   * without it, listening is enough (a bench fixture).
   */
  readonly readyPath?: string;
  /**
   * A file the process writes its output to itself, which nobody reads as it comes (a load
   * generator must not spend its CPU on log lines). Without it, output is read line by line.
   */
  readonly logFile?: string;
  /** Called with each line it writes (not with {@link logFile}). */
  readonly onLine?: (line: OutputLine) => void;
  /** Keep every line for {@link ServiceProcess.output} (default); false keeps the last 200. */
  readonly keepOutput?: boolean;
  /** How long it may take to listen and be ready (default 60 s); then it is killed. */
  readonly startTimeoutMs?: number;
  /** How long {@link ServiceProcess.stop} waits after SIGTERM before SIGKILL (default 10 s). */
  readonly stopGraceMs?: number;
}

/** A process started by {@link startProcess}. */
export interface ServiceProcess {
  readonly name: string;
  /** Base URL it listens on, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** True until it has exited. */
  readonly running: boolean;
  /** Resolves once it has exited (and, when read line by line, all its output is read). */
  readonly exited: Promise<ProcessExit>;
  /** What it wrote to stdout and stderr so far (see {@link ProcessOptions.keepOutput}). */
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited after the grace; resolves once it has. */
  stop(): Promise<StopResult>;
  /** Sends `signal` (SIGKILL: a crash, no shutdown hook runs); resolves once it has exited. */
  kill(signal?: NodeJS.Signals): Promise<ProcessExit>;
}

/**
 * A child `node` process, from spawn to exit. {@link ready} resolves once it listens (the URL
 * it logs) and answers its readiness path; it rejects, with the end of its output, when the
 * process exits first or takes longer than its start timeout (it is killed then).
 */
export class LaunchedProcess implements ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<ProcessExit>;
  readonly ready: Promise<ServiceProcess>;
  #url: string | undefined;
  /** The URL of its `listening on` line, once read (when its output is read line by line). */
  #listening: string | undefined;
  readonly #lines: string[] = [];
  readonly #options: ProcessOptions;

  constructor(options: ProcessOptions) {
    if (!existsSync(options.main)) {
      throw new Error(`${options.main} is missing: build it first (npm run build)`);
    }
    this.name = options.name;
    this.#options = options;
    let out: 'pipe' | number = 'pipe';
    if (options.logFile) out = openSync(options.logFile, 'w');
    try {
      this.child = spawn(
        process.execPath,
        [...(options.nodeArgs ?? []), options.main, ...(options.args ?? [])],
        { cwd: options.cwd, env: definedOnly(options.env), stdio: ['ignore', out, out] },
      );
    } finally {
      if (typeof out === 'number') closeSync(out);
    }
    this.exited = new Promise((resolve) => {
      // With pipes, `close` comes after the last line has been read.
      this.child.once(options.logFile ? 'exit' : 'close', (code: number | null, signal) =>
        resolve({ code, signal }),
      );
      this.child.once('error', () => resolve({ code: this.child.exitCode, signal: null }));
    });
    if (!options.logFile) {
      this.#readLines('stdout');
      this.#readLines('stderr');
    }
    this.ready = this.#waitUntilReady().then(
      () => this,
      async (error: unknown) => {
        await this.kill();
        throw error;
      },
    );
    // A caller that never awaits `ready` must not see an unhandled rejection.
    this.ready.catch(() => undefined);
  }

  get url(): string {
    if (this.#url === undefined) throw new Error(`${this.name} does not listen yet`);
    return this.#url;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  output(): string {
    if (this.#options.logFile) return readLogTail(this.#options.logFile);
    return this.#lines.map((line) => `${line}\n`).join('');
  }

  async stop(): Promise<StopResult> {
    if (this.running) this.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (this.running) this.child.kill('SIGKILL');
    }, this.#options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS);
    const exit = await this.exited;
    clearTimeout(timer);
    return { ...exit, graceful: exit.code === 0 || exit.signal === 'SIGTERM' };
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ProcessExit> {
    if (this.running) this.child.kill(signal);
    return this.exited;
  }

  #readLines(stream: 'stdout' | 'stderr'): void {
    const decoder = new StringDecoder('utf8');
    let rest = '';
    const emit = (text: string) => {
      this.#lines.push(text);
      if (this.#options.keepOutput === false && this.#lines.length > TAIL_LINES) {
        this.#lines.splice(0, this.#lines.length - TAIL_LINES);
      }
      if (this.#url === undefined) this.#listening ??= LISTENING.exec(text)?.[1];
      this.#options.onLine?.({ stream, text });
    };
    const source = this.child[stream];
    source?.on('data', (chunk: Buffer) => {
      rest += decoder.write(chunk);
      for (let end = rest.indexOf('\n'); end !== -1; end = rest.indexOf('\n')) {
        emit(rest.slice(0, end));
        rest = rest.slice(end + 1);
      }
    });
    source?.on('end', () => {
      rest += decoder.end();
      if (rest !== '') emit(rest);
      rest = '';
    });
  }

  async #waitUntilReady(): Promise<void> {
    const timeoutMs = this.#options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    const failure = (what: string) =>
      new Error(`${this.name} ${what}:\n${this.output()}`.trimEnd());
    for (;;) {
      if (this.#url === undefined) {
        const url = this.#options.logFile
          ? LISTENING.exec(readHead(this.#options.logFile))?.[1]
          : this.#listening;
        if (url !== undefined) this.#url = url;
      }
      if (this.#url !== undefined) {
        if (this.#options.readyPath === undefined) return;
        const status = await probe(`${this.#url}${this.#options.readyPath}`);
        if (status === 200) return;
      }
      if (!this.running) {
        const { code, signal } = await this.exited;
        throw failure(`exited (code ${code}, signal ${signal}) before it was ready`);
      }
      if (Date.now() > deadline) {
        throw failure(
          this.#url === undefined
            ? `did not listen within ${timeoutMs} ms`
            : `listened on ${this.#url} but was not ready within ${timeoutMs} ms`,
        );
      }
      await sleep(POLL_MS);
    }
  }
}

/**
 * Starts `node <main>` and resolves once it is ready (see {@link LaunchedProcess}); rejects,
 * with the end of its output, when it exits or times out first.
 */
export function startProcess(options: ProcessOptions): Promise<ServiceProcess> {
  return new LaunchedProcess(options).ready;
}

/** The status a GET of `url` answers (on a connection of its own), or undefined: none. */
function probe(url: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const request = get(url, { agent: false, timeout: PROBE_TIMEOUT_MS }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(undefined));
  });
}

/** The first 64 KiB of `file`: a listening line comes right after start-up. */
function readHead(file: string): string {
  return readPart(file, 64 * 1024, true);
}

/** The end of a log file (16 KiB), after its name: what an error message shows of it. */
export function readLogTail(file: string): string {
  return `(${file})\n${readPart(file, TAIL_BYTES, false)}`;
}

function readPart(file: string, bytes: number, fromStart: boolean): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const size = statSync(file).size;
    const length = Math.min(bytes, size);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, fromStart ? 0 : size - length);
    return buffer.toString('utf8');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
