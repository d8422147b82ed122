import { join } from 'node:path';
import { freePort } from './free-port';
import type {
  LaunchedProcess,
  OutputLine,
  ProcessExit,
  ProcessOptions,
  ServiceProcess,
  StopResult,
} from './launched-process';
import { spawnService } from './start-service';
import {
  type Environment,
  localUrl,
  SERVICE_NAMES,
  type ServiceName,
  stackService,
} from './stack-services';

/** How often a service whose port was chosen for it gets another when it lost the first. */
const PORT_ATTEMPTS = 3;

/** The service whose URL, the issuer of service tokens, every other may need at boot. */
const ISSUER: ServiceName = 'auth-server';

/** How to run the stack (or a part of it). */
export interface StackOptions extends Pick<
  ProcessOptions,
  'cwd' | 'nodeArgs' | 'keepOutput' | 'startTimeoutMs' | 'stopGraceMs'
> {
  /** Which services to start (default: all four). */
  readonly services?: readonly ServiceName[];
  /** The environment every service gets: tokens, `DATA_DIR`, `DATABASE_URL`, ... */
  readonly env: Environment;
  /** More environment for one service (over {@link env}). */
  readonly serviceEnv?: Partial<Record<ServiceName, Environment>>;
  /**
   * The port of a service. Without one (or with 0) a service takes any free port, which it
   * keeps across restarts; the auth server, whose URL is in its own configuration, gets one
   * chosen just before it starts (with service identity, before anything starts), and another
   * should a process take it meanwhile. A port given here is used as it is: leave the auth
   * server's out to have that retry.
   */
  readonly ports?: Partial<Record<ServiceName, number>>;
  /**
   * Where callers reach a service, instead of where it listens: a proxy in front of it, or a
   * service this stack does not start. Every service is told every URL (the auth server its
   * own, as its tokens' issuer).
   */
  readonly urls?: Partial<Record<ServiceName, string>>;
  /** Aborting it stops the stack, also while it starts (`launchStack` then rejects). */
  readonly signal?: AbortSignal;
  /** The script of a service (default: the workspace's `dist/apps/<name>/main.js`). */
  readonly main?: (name: ServiceName) => string;
  /**
   * A folder for the output of each process, `<n>-<service>.log`, written by the process
   * itself (nobody reads it as it comes). Without it, output is read line by line.
   */
  readonly logDir?: string;
  /** Each line a service writes (when read line by line). */
  readonly onLine?: (name: ServiceName, line: OutputLine) => void;
  /**
   * A process has been spawned (its pid is known; it is not ready yet). This and the other
   * callbacks also see the processes of a launch that starts again on another port (see
   * `ports`): those are stopped, `expected`, before the next attempt starts.
   */
  readonly onStart?: (name: ServiceName, process: ServiceProcess) => void;
  /** A process is ready: at launch, and after each restart. */
  readonly onReady?: (name: ServiceName, process: ServiceProcess) => void;
  /**
   * A process that was ready has exited: `expected` when the stack stopped or killed it,
   * false when it died by itself.
   */
  readonly onExit?: (name: ServiceName, exit: ProcessExit, expected: boolean) => void;
}

/**
 * Built services running as processes, wired to each other: each on its port, told where
 * the others are, started once the services it calls are ready, stopped callers first.
 * Made by {@link launchStack}.
 */
export class ServiceStack {
  /** The services of this stack, in {@link SERVICE_NAMES} order. */
  readonly services: readonly ServiceName[];
  readonly #options: StackOptions;
  /** The port of each service: given, or where its first process listened. */
  readonly #ports = new Map<ServiceName, number>();
  readonly #env = new Map<ServiceName, Environment>();
  readonly #history = new Map<ServiceName, LaunchedProcess[]>();
  /** Processes whose exit the stack asked for. */
  readonly #expected = new Set<LaunchedProcess>();
  #count = 0;
  #stopping = false;
  /** The auth server's port was chosen by the stack before anything started... */
  #placedIssuer = false;
  /** ...and taken by another process before the auth server could listen on it. */
  #issuerPortLost = false;

  private constructor(
    options: StackOptions,
    services: readonly ServiceName[],
    /** Processes started by earlier attempts of the launch: their log files are kept. */
    started = 0,
  ) {
    this.#options = options;
    this.services = services;
    this.#count = started;
    for (const name of services) {
      const port = options.ports?.[name];
      if (port) this.#ports.set(name, port);
      this.#env.set(name, { ...options.env, ...options.serviceEnv?.[name] });
    }
  }

  /**
   * Starts the services of `options` (see {@link launchStack}). Should the port chosen for the
   * auth server before anything started be taken before it listens, the services already told
   * that port are stopped and the whole stack starts again on another.
   */
  static async launch(options: StackOptions): Promise<ServiceStack> {
    const wanted = options.services ?? SERVICE_NAMES;
    const services = SERVICE_NAMES.filter((name) => wanted.includes(name));
    let started = 0;
    for (let attempt = 1; ; attempt += 1) {
      options.signal?.throwIfAborted();
      const stack = new ServiceStack(options, services, started);
      const stopOnAbort = () => void stack.stopAll();
      options.signal?.addEventListener('abort', stopOnAbort, { once: true });
      try {
        await stack.#startAll();
        return stack;
      } catch (error) {
        options.signal?.removeEventListener('abort', stopOnAbort);
        await stack.stopAll();
        started = stack.#count;
        const again = stack.#issuerPortLost && attempt < PORT_ATTEMPTS && !options.signal?.aborted;
        if (!again) throw error;
      }
    }
  }

  /** Starts every service once the services it calls are ready; rejects with the first failure. */
  async #startAll(): Promise<void> {
    await this.#placeIssuer();
    // SERVICE_NAMES lists every service after the ones it calls.
    const started = new Map<ServiceName, Promise<unknown>>();
    for (const name of this.services) {
      const upstreams = stackService(name)
        .upstreams.filter((upstream) => this.services.includes(upstream))
        .map((upstream) => started.get(upstream));
      started.set(
        name,
        Promise.all(upstreams).then(() =>
          this.start(name).catch((error: unknown) => {
            const placed = name === ISSUER && this.#placedIssuer;
            if (placed && /EADDRINUSE/.test(String(error))) this.#issuerPortLost = true;
            throw error;
          }),
        ),
      );
    }
    const outcomes = await Promise.allSettled(started.values());
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /**
   * With service identity (`INTERNAL_AUTH_MODE` other than `token`, or
   * `INTERNAL_AUTH_SHADOW`), every service verifies tokens of the auth server, billing (which
   * starts before it) included: the auth server's address must be known before anything
   * starts. In `token` mode it is found when the auth server starts, as before.
   */
  async #placeIssuer(): Promise<void> {
    if (!this.services.includes(ISSUER) || this.#ports.has(ISSUER)) return;
    const identity = this.services.some((name) => {
      const env = this.#env.get(name) ?? {};
      const mode = env['INTERNAL_AUTH_MODE'] || 'token';
      return mode !== 'token' || (env['INTERNAL_AUTH_SHADOW'] || 'off') !== 'off';
    });
    if (!identity) return;
    this.#ports.set(ISSUER, await freePort());
    this.#placedIssuer = true;
  }

  /**
   * Where callers reach each service whose address is known: the URL given for it, or where
   * it listens (once started).
   */
  get urls(): Readonly<Partial<Record<ServiceName, string>>> {
    const urls: Partial<Record<ServiceName, string>> = { ...this.#options.urls };
    for (const name of this.services) {
      const port = this.#ports.get(name);
      if (port !== undefined) urls[name] ??= localUrl(port);
    }
    return urls;
  }

  /** True once {@link stopAll} has been called: nothing starts any more. */
  get stopping(): boolean {
    return this.#stopping;
  }

  /** The current (latest) process of `name`. */
  process(name: ServiceName): ServiceProcess {
    const current = this.#history.get(name)?.at(-1);
    if (!current) throw new Error(`${name} is not a service of this stack`);
    return current;
  }

  /** Every process started for `name`, oldest first (restarts add one each). */
  processes(name: ServiceName): readonly ServiceProcess[] {
    return this.#history.get(name) ?? [];
  }

  /** The environment `name` runs with now (before its port and URL variables). */
  environment(name: ServiceName): Environment {
    return this.#required(this.#env.get(name), name);
  }

  /**
   * Starts `name` again (after {@link stop} or {@link kill}) on its port, with `env` instead of
   * the stack's environment when given; resolves once it is ready.
   */
  async start(name: ServiceName, env?: Environment): Promise<ServiceProcess> {
    if (this.#stopping) throw new Error(`the stack is stopping: ${name} not started`);
    const previous = this.#history.get(name)?.at(-1);
    if (previous?.running) throw new Error(`${name} is running already`);
    if (env) this.#env.set(name, { ...env, ...this.#options.serviceEnv?.[name] });
    const known = this.#ports.get(name);
    if (known !== undefined || !stackService(name).knowsOwnUrl) {
      return this.#launch(name, known ?? 0);
    }
    // A free port a moment ago may be taken by the time the service listens (it opens its
    // database first): then another one, as nobody knows this one yet.
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.#launch(name, await freePort());
      } catch (error) {
        const lost = /EADDRINUSE/.test(String(error)) && this.#ports.get(name) === undefined;
        if (!lost || attempt === PORT_ATTEMPTS || this.#stopping) throw error;
      }
    }
  }

  /** Starts one process of `name` on `port` (0: any) and waits until it is ready. */
  async #launch(name: ServiceName, port: number): Promise<ServiceProcess> {
    this.#count += 1;
    const options = this.#options;
    const urls = { ...this.urls };
    if (port !== 0) urls[name] ??= localUrl(port);
    const launched = spawnService(name, {
      env: this.environment(name),
      port,
      urls,
      main: options.main?.(name),
      cwd: options.cwd,
      nodeArgs: options.nodeArgs,
      keepOutput: options.keepOutput,
      startTimeoutMs: options.startTimeoutMs,
      stopGraceMs: options.stopGraceMs,
      logFile: options.logDir ? join(options.logDir, `${this.#count}-${name}.log`) : undefined,
      onLine: options.onLine && ((line) => options.onLine?.(name, line)),
    });
    this.#history.set(name, [...(this.#history.get(name) ?? []), launched]);
    options.onStart?.(name, launched);
    let ready = false;
    void launched.exited.then((exit) => {
      if (ready) options.onExit?.(name, exit, this.#stopping || this.#expected.has(launched));
    });
    await launched.ready;
    ready = true;
    // Restarts come back where callers were told it is.
    if (!this.#ports.has(name)) this.#ports.set(name, Number(new URL(launched.url).port));
    options.onReady?.(name, launched);
    return launched;
  }

  /** Stops `name` (SIGTERM, then SIGKILL after the grace). */
  stop(name: ServiceName): Promise<StopResult> {
    return this.#current(name).stop();
  }

  /** Sends `signal` to `name` (default SIGKILL: a crash); resolves once it has exited. */
  kill(name: ServiceName, signal: NodeJS.Signals = 'SIGKILL'): Promise<ProcessExit> {
    return this.#current(name).kill(signal);
  }

  /** Stops `name` if it runs, then starts it as {@link start} does. */
  async restart(name: ServiceName, env?: Environment): Promise<ServiceProcess> {
    await this.stop(name);
    return this.start(name, env);
  }

  /**
   * Stops every process, callers before the services they call (so none is cut off in the
   * middle of a call), each SIGTERM then SIGKILL after the grace.
   */
  async stopAll(): Promise<void> {
    this.#stopping = true;
    for (const wave of [...startWaves(this.services)].reverse()) {
      await Promise.all(wave.map((name) => this.#history.get(name)?.at(-1)?.stop()));
    }
  }

  /** The current process of `name`, whose exit from now on is asked for. */
  #current(name: ServiceName): LaunchedProcess {
    const current = this.#history.get(name)?.at(-1);
    if (!current) throw new Error(`${name} is not a service of this stack`);
    this.#expected.add(current);
    return current;
  }

  #required<T>(value: T | undefined, name: ServiceName): T {
    if (value === undefined) throw new Error(`${name} is not a service of this stack`);
    return value;
  }
}

/**
 * Starts the built services as processes: each on its given port or a free one, with `env`
 * and the port and URL variables that wire it to the others (the services it calls, which are
 * ready before it starts, and itself), once the services it calls are ready; resolves once every one answers `GET /health/ready` with 200. If one fails to start,
 * the others are stopped and the error (with the end of its output) is thrown.
 */
export function launchStack(options: StackOptions): Promise<ServiceStack> {
  return ServiceStack.launch(options);
}

/** `services` grouped by start order: each group calls only services of earlier groups. */
export function startWaves(services: readonly ServiceName[]): ServiceName[][] {
  const depth = new Map<ServiceName, number>();
  for (const name of SERVICE_NAMES) {
    if (!services.includes(name)) continue;
    const upstreams = stackService(name).upstreams.filter((upstream) =>
      services.includes(upstream),
    );
    depth.set(name, Math.max(-1, ...upstreams.map((upstream) => depth.get(upstream) ?? -1)) + 1);
  }
  const waves: ServiceName[][] = [];
  for (const [name, level] of depth) (waves[level] ??= []).push(name);
  return waves;
}
