// Child processes of a benchmark run: every server and loop is its own process, started
// here and stopped here, whatever happens (see ProcessGroup.stopAll and run.ts's handlers).
// Servers and stacks are started by the stack launcher (libs/stack-launcher); loops are forked
// here. Their output goes to a log file each, not through a pipe to the runner: the runner is
// also the load generator, and reading every request log line would take CPU from it.
import { type ChildProcess, fork } from 'node:child_process';
import { closeSync, mkdtempSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type {
  Environment,
  ProcessExit,
  ServiceName,
  ServiceProcess,
  ServiceStack,
  StackOptions,
} from '@zt/stack-launcher';
import { runnerEnvironment } from '../config/runner.config';
import { loadLauncher } from './launcher';

const STOP_GRACE_MS = 10_000;

/**
 * Node options for a fixture written in TypeScript (`.ts`): tsx's loader compiles it as it is
 * loaded. That is a start-up cost only: once loaded, a fixture runs plain compiled JavaScript
 * (the loader's hooks only see module loading), so what is measured after the warm-up is
 * not slowed by it.
 */
function loaderArgs(main: string): string[] {
  return main.endsWith('.ts') ? ['--import', 'tsx'] : [];
}

/**
 * The environment of a child: the launcher's harmless inherited variables, the per-client rate
 * limits off (a benchmark is one client far above any production limit; the `rate-limit`
 * scenario measures what counting costs), then `env`.
 */
async function childEnvironment(env: Environment): Promise<Record<string, string>> {
  const { definedOnly, inheritedEnvironment } = await loadLauncher();
  return {
    ...inheritedEnvironment(runnerEnvironment()),
    RATE_LIMIT_INTERNAL_REQUESTS: '0',
    RATE_LIMIT_OAUTH_PER_MINUTE: '0',
    ...definedOnly(env),
  };
}

/** What a forked worker answers to a `run` message. */
export interface WorkerResult {
  readonly type: 'result';
  readonly count: number;
  readonly failures: number;
  readonly seconds: number;
  readonly latencies: number[];
}

/** What a process of the group can do, whoever started it. */
interface Stoppable {
  readonly pid: number | undefined;
  readonly exited: Promise<ProcessExit>;
  stop(): Promise<unknown>;
}

/** A forked loop (servers are the launcher's processes, with the same surface). */
class Child implements Stoppable {
  readonly #readLogTail: (file: string) => string;
  readonly exited: Promise<ProcessExit>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly logFile: string,
    readLogTail: (file: string) => string,
  ) {
    this.#readLogTail = readLogTail;
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The end of what it wrote (its log file keeps everything until the run ends). */
  output(): string {
    return this.#readLogTail(this.logFile);
  }

  /** SIGTERM, then SIGKILL if it has not exited after 10 s. */
  async stop(): Promise<ProcessExit> {
    if (this.running) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.running && this.child.kill('SIGKILL'), STOP_GRACE_MS);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}

/** A forked worker, ready for `ask`. */
export class Worker extends Child {
  /** Sends `message` and resolves with its next `result` message (rejects on `error`). */
  ask(message: Readonly<Record<string, unknown>>, askTimeoutMs = 600_000): Promise<WorkerResult> {
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.name} did not answer within ${askTimeoutMs} ms`));
      }, askTimeoutMs);
      const onMessage = (reply: unknown) => {
        if (isWorkerResult(reply)) {
          cleanup();
          resolve(reply);
        } else if (messageType(reply) === 'error') {
          cleanup();
          reject(new Error(`${this.name}: ${String((reply as { message?: unknown }).message)}`));
        }
      };
      const onExit = () => {
        cleanup();
        reject(new Error(`${this.name} exited while working:\n${this.output()}`));
      };
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
      this.child.send(message);
    });
  }
}

/** The `type` of an IPC message, if it has one. */
function messageType(message: unknown): unknown {
  return typeof message === 'object' && message !== null
    ? (message as { type?: unknown }).type
    : undefined;
}

function isWorkerResult(message: unknown): message is WorkerResult {
  if (messageType(message) !== 'result') return false;
  const { count, failures, seconds, latencies } = message as Record<string, unknown>;
  return (
    typeof count === 'number' &&
    typeof failures === 'number' &&
    typeof seconds === 'number' &&
    Array.isArray(latencies) &&
    latencies.every((value) => typeof value === 'number')
  );
}

/** Every child process of a run, so that none outlives it. */
export class ProcessGroup {
  #children = new Set<Stoppable>();
  #count = 0;
  /** Every process started, `{ pid: name }` (for naming CPU profiles). */
  started: Record<string, string> = {};

  /**
   * @param logDir where each child's output goes (`<n>-<name>.log`)
   * @param nodeArgs options for every child's `node` (e.g. `--cpu-prof`)
   */
  constructor(
    readonly logDir: string,
    readonly nodeArgs: readonly string[] = [],
  ) {}

  /**
   * Starts `node <main>` and resolves once it logs `listening on <url>` (every service and
   * fixture does), with the process (`url`, `pid`, `stop()`, `output()`).
   */
  async startServer(
    name: string,
    main: string,
    {
      env = {},
      timeoutMs = 90_000,
      nodeArgs = [],
    }: { env?: Environment; timeoutMs?: number; nodeArgs?: readonly string[] } = {},
  ): Promise<ServiceProcess> {
    const { startProcess } = await loadLauncher();
    return this.#track(
      name,
      await startProcess({
        name,
        main,
        env: await childEnvironment(env),
        nodeArgs: [...this.nodeArgs, ...nodeArgs, ...loaderArgs(main)],
        logFile: this.#logFile(name),
        startTimeoutMs: timeoutMs,
      }),
    );
  }

  /**
   * Starts one built service of the stack (`service`, e.g. `billing-server`) on `port` (default:
   * a free one), called `label` in this run's logs and profiles, with `urls` the services it
   * reaches (and itself: the auth server's issuer); resolves once it is ready.
   */
  async startService(
    label: string,
    service: ServiceName,
    {
      env = {},
      port,
      urls,
      nodeArgs = [],
    }: {
      env?: Environment;
      port?: number;
      urls?: Partial<Record<ServiceName, string>>;
      /** Options for this child's `node`, after the group's. */
      nodeArgs?: readonly string[];
    } = {},
  ): Promise<ServiceProcess> {
    const { startService } = await loadLauncher();
    return this.#track(
      label,
      await startService(service, {
        label,
        port,
        urls,
        env: await childEnvironment(env),
        nodeArgs: [...this.nodeArgs, ...nodeArgs],
        logFile: this.#logFile(label),
      }),
    );
  }

  /**
   * Starts the stack (or part of it) with the launcher, each process logging to a file of its
   * own and counted among this group's processes. `options` as `launchStack` takes them.
   */
  async launchStack(
    options: Omit<StackOptions, 'nodeArgs' | 'logDir' | 'onStart'>,
  ): Promise<ServiceStack> {
    const { launchStack } = await loadLauncher();
    return launchStack({
      ...options,
      env: await childEnvironment(options.env),
      nodeArgs: this.nodeArgs,
      logDir: mkdtempSync(join(this.logDir, 'stack-')),
      onStart: (name, process) => this.#track(name, process),
    });
  }

  /**
   * Forks `main` with an IPC channel and resolves once it sends `{ type: 'ready' }`. The
   * returned worker has `ask(message)`, which resolves with its next `result` message.
   */
  async startWorker(
    name: string,
    main: string,
    { env = {}, timeoutMs = 60_000 }: { env?: Environment; timeoutMs?: number } = {},
  ): Promise<Worker> {
    const childEnv = await childEnvironment(env);
    const { readLogTail } = await loadLauncher();
    const child = this.#start(name, readLogTail, (stdio) =>
      fork(main, [], {
        env: childEnv,
        execArgv: [...this.nodeArgs, ...loaderArgs(main)],
        stdio: [...stdio, 'ipc'],
      }),
    );
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        void child.stop();
        reject(new Error(`${name} was not ready within ${timeoutMs} ms:\n${child.output()}`));
      }, timeoutMs);
      const onReady = (message: unknown) => {
        if (messageType(message) !== 'ready') return;
        clearTimeout(timer);
        child.child.off('message', onReady);
        resolve(child);
      };
      child.child.on('message', onReady);
      void child.exited.then(({ code }) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited (code ${code}) before it was ready:\n${child.output()}`));
      });
    });
  }

  /** Stops every child still running, all at once. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.#children].map((child) => child.stop()));
  }

  #start(
    name: string,
    readLogTail: (file: string) => string,
    launch: (stdio: ['ignore', number, number]) => ChildProcess,
  ): Worker {
    const logFile = this.#logFile(name);
    const fd = openSync(logFile, 'w');
    let child: Worker;
    try {
      child = new Worker(name, launch(['ignore', fd, fd]), logFile, readLogTail);
    } finally {
      closeSync(fd);
    }
    return this.#track(name, child);
  }

  /** Counts `child` (a forked loop or a launched process) among the processes to stop. */
  #track<T extends Stoppable>(name: string, child: T): T {
    this.#children.add(child);
    this.started[String(child.pid)] = name;
    void child.exited.then(() => this.#children.delete(child));
    return child;
  }

  #logFile(name: string): string {
    this.#count += 1;
    return join(this.logDir, `${this.#count}-${name.replace(/[^a-z0-9.-]+/gi, '_')}.log`);
  }
}
