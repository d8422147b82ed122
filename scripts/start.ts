// `npm start [-- --verbose] [-- --json | --text]`: builds what changed, then runs every service
// of the stack as its own process (libs/stack-launcher) on embedded defaults, says when each is
// ready and where, prints a first invite, and stops them all on Ctrl-C or SIGTERM.
//
// The console shows the launcher's own lines and the services' warnings and errors;
// --verbose shows every line the services write. On a terminal the lines are short text;
// when standard output is not a terminal (`npm start | npx pino-pretty`, a file) or with
// --json, every line is a JSON log line: the services' own as they write them, the
// launcher's with "service":"start". --text keeps the short form in a pipe.
//
// SIGUSR2 (what `npm run rotate-token` sends) restarts the services one at a time with the
// env file as it is now: see docs/runbooks/token-rotation.md.
import { operatorHeaders } from './lib/operator-credentials';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Environment, ServiceStack } from '@zt/stack-launcher';
import { shellEnvironment } from './config/environment';
import {
  buildServices,
  authServerUrl,
  createInvite,
  ENV_FILE,
  ensureEnvFile,
  errorMessage,
  loadLauncher,
  runMain,
  stackEnvironment,
  type StackState,
  STATE_FILE,
} from './stack';

// A variable set in the shell that ran npm start wins over the env file, so a rolling
// restart could not change it: rotation through the env file would silently do nothing.
const ROTATED_VARIABLES = ['INTERNAL_SERVICE_TOKEN', 'INTERNAL_SERVICE_TOKEN_ACCEPT'];

/** How a rolling restart ended, in one line (never a secret). */
interface RestartOutcome {
  readonly ok: boolean;
  readonly message: string;
}

function parseOptions(): { verbose: boolean } {
  try {
    return parseArgs({
      options: {
        verbose: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        text: { type: 'boolean', default: false },
      },
    }).values;
  } catch (error) {
    console.error(`${errorMessage(error)}\nusage: npm start [-- --verbose] [-- --json | --text]`);
    process.exit(2);
  }
}

/** The services' environment: the env file under the shell's variables, as read at boot. */
function serviceEnvironment(): Record<string, string | undefined> {
  const env = stackEnvironment();
  // JSON lines, which the console filters and formats, unless the operator chose a format.
  env.LOG_FORMAT ||= 'json';
  return env;
}

/** The first line of an error: the launcher's errors end with the output already shown. */
const firstLine = (error: unknown): string => errorMessage(error).split('\n')[0];

async function main(): Promise<void> {
  const args = parseOptions();
  const generated = ensureEnvFile();
  // Before the launcher is built there is no console yet: progress goes to standard error,
  // so that a pipe into pino-pretty reads JSON lines only.
  process.stderr.write('[start] building (cached when nothing changed)...\n');
  buildServices();
  const { addressesFromEnvironment, consoleFormatFor, launchStack, StackConsole } =
    await loadLauncher();

  const format = consoleFormatFor(process.argv.slice(2), Boolean(process.stdout.isTTY));
  const out = new StackConsole({
    format,
    verbose: args.verbose,
    source: 'start',
    colors: format === 'text' && Boolean(process.stdout.isTTY),
  });
  if (generated.length > 0)
    out.info(`generated ${generated.join(', ')} in ${ENV_FILE} (git-ignored; keep it secret)`);

  let env: Environment = serviceEnvironment();
  const aborted = new AbortController();
  let stack: ServiceStack | undefined;
  let stackState: StackState | undefined;
  let stopping: Promise<void> | undefined;

  /** Stops every service, callers first, then exits with `code`. */
  function stop(code: number): void {
    stopping ??= (async () => {
      if (stack) out.info('stopping every service, callers first');
      aborted.abort();
      await stack?.stopAll();
      process.exit(code);
    })();
  }
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  process.on('exit', () => stackState && rmSync(STATE_FILE, { force: true }));
  // Registered before anything starts: unhandled, SIGUSR2 would end the process.
  process.on('SIGUSR2', () => onRestartSignal());

  /** Records this process and its services for rotate-token.ts (pid, urls, restarts so far). */
  function writeState(running: ServiceStack, state: Omit<StackState, 'services'>): void {
    stackState = {
      ...state,
      services: Object.fromEntries(
        running.services.map((name) => [name, running.process(name).url]),
      ),
    };
    const temporary = `${STATE_FILE}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(stackState, null, 2)}\n`, { mode: 0o600 });
    renameSync(temporary, STATE_FILE);
  }

  /**
   * Restarts every service, one at a time and in the launcher's order, with the env file as
   * it is now: stop one, start it again, wait until it is ready, then the next. Each service
   * is down while it restarts (about a second; callers get 503 "<service> unavailable"
   * meanwhile), so this is for a local stack; see docs/runbooks/token-rotation.md for what
   * production needs.
   */
  async function restartOneByOne(running: ServiceStack): Promise<RestartOutcome> {
    const shadowed = ROTATED_VARIABLES.filter((name) => shellEnvironment[name] !== undefined);
    if (shadowed.length > 0) {
      return {
        ok: false,
        message: `${shadowed.join(' and ')} set in the shell that ran npm start wins over ${ENV_FILE}: nothing restarted (restart npm start without it)`,
      };
    }
    const next = serviceEnvironment();
    out.info(`rolling restart: each service in turn, with ${ENV_FILE} as it is now`);
    for (const [index, name] of running.services.entries()) {
      out.info(`restarting ${name} (${index + 1}/${running.services.length})`);
      try {
        await running.restart(name, next);
      } catch (error) {
        if (running.stopping) return { ok: false, message: 'the stack is stopping' };
        out.error(`${firstLine(error)}: starting it again with its previous configuration`);
        // Throws (and the stack stops) only if the previous configuration fails as well.
        await running.start(name, env);
        const rest = running.services.slice(index);
        return {
          ok: false,
          message: `${name} refused the new configuration (its error is in the npm start output); ${rest.join(', ')} still run the previous one`,
        };
      }
    }
    env = next;
    return { ok: true, message: `every service restarted with ${ENV_FILE}` };
  }

  let restarting = false;
  let restartRequested = false;

  async function rollingRestart(running: ServiceStack, state: StackState): Promise<void> {
    restarting = true;
    let outcome: RestartOutcome;
    try {
      do {
        restartRequested = false;
        outcome = await restartOneByOne(running);
      } while (restartRequested && outcome.ok && !running.stopping);
    } catch (error) {
      if (!running.stopping) out.error(`rolling restart failed: ${firstLine(error)}`);
      stop(1);
      return;
    } finally {
      restarting = false;
    }
    if (running.stopping) return;
    (outcome.ok ? out.info : out.error).call(out, `rolling restart: ${outcome.message}`);
    writeState(running, {
      ...state,
      restarts: state.restarts + 1,
      lastRestart: { ok: outcome.ok, message: outcome.message, at: new Date().toISOString() },
    });
  }

  function onRestartSignal(): void {
    if (stopping || stack === undefined || stackState === undefined) {
      out.error('SIGUSR2: the stack is not up (yet); nothing restarted');
    } else if (restarting) {
      // Whatever changed in the env file meanwhile is picked up by one more round.
      restartRequested = true;
    } else {
      void rollingRestart(stack, stackState);
    }
  }

  try {
    const { ports, urls } = addressesFromEnvironment(env);
    const running = await launchStack({
      env,
      ports,
      urls,
      cwd: process.cwd(),
      keepOutput: false,
      signal: aborted.signal,
      onLine: (name, line) => out.service(name, line),
      onReady: (name, process) => out.info(`${name.padEnd(17)} ready at ${process.url}`),
      onExit: (name, exit, expected) => {
        if (expected) return;
        out.error(`${name} stopped (code ${exit.code}, signal ${exit.signal}): stopping the stack`);
        stop(1);
      },
    });
    stack = running;
    const authUrl = running.urls['auth-server'] ?? authServerUrl(env);
    const headers = await operatorHeaders(env, authUrl, 'auth-server');
    const code = await createInvite({ ...env, AUTH_SERVER_URL: authUrl }, 'pro', headers);
    out.info(`a first invite (tier pro, single use): ${code}`);
    out.info(
      (env.INTERNAL_AUTH_MODE || 'token') === 'token'
        ? 'register with it as in docs/quickstart.md; more: npm run invite -- <free|pro|team>; internal routes need the X-INTERNAL-TOKEN header (value in .env), see docs/curl-matrix.md'
        : `register with it as in docs/quickstart.md; more: npm run invite -- <free|pro|team>; INTERNAL_AUTH_MODE=${env.INTERNAL_AUTH_MODE}: internal routes need a service token, see docs/curl-matrix-identity.md`,
    );
    writeState(running, { pid: process.pid, envFile: ENV_FILE, restarts: 0, lastRestart: null });
    out.info(
      `Ctrl-C stops everything.${args.verbose ? '' : ' (npm start -- --verbose shows every log line)'}`,
    );
  } catch (error) {
    if (!stopping) {
      out.error(firstLine(error));
      stop(1);
    }
  }
}

runMain(main);
