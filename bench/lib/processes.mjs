// Child processes of a benchmark run: every server and loop is its own process, started
// here and stopped here, whatever happens (see ProcessGroup.stopAll and run.mjs's handlers).
// Servers and stacks are started by the stack launcher (libs/stack-launcher); loops are forked
// here. Their output goes to a log file each, not through a pipe to the runner: the runner is
// also the load generator, and reading every request log line would take CPU from it.
import { fork } from 'node:child_process';
import { closeSync, mkdtempSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { loadLauncher } from '../../scripts/stack.mjs';

const STOP_GRACE_MS = 10_000;

/** The environment of a child: the launcher's harmless inherited variables plus `env`. */
async function childEnvironment(env) {
  const { definedOnly, inheritedEnvironment } = await loadLauncher();
  return { ...inheritedEnvironment(process.env), ...definedOnly(env) };
}

/** A forked loop (servers are the launcher's processes, with the same surface). */
class Child {
  #readLogTail;

  constructor(name, child, logFile, readLogTail) {
    this.name = name;
    this.child = child;
    this.logFile = logFile;
    this.#readLogTail = readLogTail;
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
  }

  get pid() {
    return this.child.pid;
  }

  get running() {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The end of what it wrote (its log file keeps everything until the run ends). */
  output() {
    return this.#readLogTail(this.logFile);
  }

  /** SIGTERM, then SIGKILL if it has not exited after 10 s. */
  async stop() {
    if (this.running) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.running && this.child.kill('SIGKILL'), STOP_GRACE_MS);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}

/** Every child process of a run, so that none outlives it. */
export class ProcessGroup {
  #children = new Set();
  #count = 0;
  /** Every process started, `{ pid: name }` (for naming CPU profiles). */
  started = {};

  /**
   * @param logDir where each child's output goes (`<n>-<name>.log`)
   * @param nodeArgs options for every child's `node` (e.g. `--cpu-prof`)
   */
  constructor(logDir, nodeArgs = []) {
    this.logDir = logDir;
    this.nodeArgs = nodeArgs;
  }

  /**
   * Starts `node <main>` and resolves once it logs `listening on <url>` (every service and
   * fixture does), with the process (`url`, `pid`, `stop()`, `output()`).
   */
  async startServer(name, main, { env = {}, timeoutMs = 90_000 } = {}) {
    const { startProcess } = await loadLauncher();
    return this.#track(
      name,
      await startProcess({
        name,
        main,
        env: await childEnvironment(env),
        nodeArgs: this.nodeArgs,
        logFile: this.#logFile(name),
        startTimeoutMs: timeoutMs,
      }),
    );
  }

  /**
   * Starts one built service of the stack (`service`, e.g. `billing-server`) on a free port,
   * called `label` in this run's logs and profiles; resolves once it is ready.
   */
  async startService(label, service, { env = {} } = {}) {
    const { startService } = await loadLauncher();
    return this.#track(
      label,
      await startService(service, {
        label,
        env: await childEnvironment(env),
        nodeArgs: this.nodeArgs,
        logFile: this.#logFile(label),
      }),
    );
  }

  /**
   * Starts the stack (or part of it) with the launcher, each process logging to a file of its
   * own and counted among this group's processes. `options` as `launchStack` takes them.
   */
  async launchStack(options) {
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
   * returned child has `ask(message)`, which resolves with its next `result` message.
   */
  async startWorker(name, main, { env = {}, timeoutMs = 60_000 } = {}) {
    const childEnv = await childEnvironment(env);
    const { readLogTail } = await loadLauncher();
    const child = this.#start(name, readLogTail, (stdio) =>
      fork(main, [], {
        env: childEnv,
        execArgv: this.nodeArgs,
        stdio: [...stdio, 'ipc'],
      }),
    );
    child.ask = (message, askTimeoutMs = 600_000) =>
      new Promise((resolve, reject) => {
        const cleanup = () => {
          clearTimeout(timer);
          child.child.off('message', onMessage);
          child.child.off('exit', onExit);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${name} did not answer within ${askTimeoutMs} ms`));
        }, askTimeoutMs);
        const onMessage = (reply) => {
          if (reply?.type === 'result') {
            cleanup();
            resolve(reply);
          } else if (reply?.type === 'error') {
            cleanup();
            reject(new Error(`${name}: ${reply.message}`));
          }
        };
        const onExit = () => {
          cleanup();
          reject(new Error(`${name} exited while working:\n${child.output()}`));
        };
        child.child.on('message', onMessage);
        child.child.once('exit', onExit);
        child.child.send(message);
      });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        void child.stop();
        reject(new Error(`${name} was not ready within ${timeoutMs} ms:\n${child.output()}`));
      }, timeoutMs);
      const onReady = (message) => {
        if (message?.type !== 'ready') return;
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
  async stopAll() {
    await Promise.all([...this.#children].map((child) => child.stop()));
  }

  #start(name, readLogTail, launch) {
    const logFile = this.#logFile(name);
    const fd = openSync(logFile, 'w');
    let child;
    try {
      child = new Child(name, launch(['ignore', fd, fd]), logFile, readLogTail);
    } finally {
      closeSync(fd);
    }
    return this.#track(name, child);
  }

  /** Counts `child` (a forked loop or a launched process) among the processes to stop. */
  #track(name, child) {
    this.#children.add(child);
    this.started[child.pid] = name;
    void child.exited.then(() => this.#children.delete(child));
    return child;
  }

  #logFile(name) {
    this.#count += 1;
    return join(this.logDir, `${this.#count}-${name.replace(/[^a-z0-9.-]+/gi, '_')}.log`);
  }
}
