// `npm start`: builds what changed, then runs every service of the stack as its own process
// on embedded defaults, prints where each listens, and stops them all on Ctrl-C or SIGTERM.
// SIGUSR2 (what `npm run rotate-token` sends) restarts the services one at a time with the
// env file as it is now: see docs/runbooks/token-rotation.md.
import { spawn } from 'node:child_process';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildServices,
  createInvite,
  ENV_FILE,
  ensureEnvFile,
  ROOT,
  SERVICES,
  stackEnvironment,
} from './stack.mjs';

// Where scripts/rotate-token.mjs finds this process (and learns how its restarts went):
// beside the env file, so "the stack that runs on this .env" is the one it signals.
const STATE_FILE = `${ENV_FILE}.stack.json`;
// A variable set in the shell that ran npm start wins over the env file, so a rolling
// restart could not change it: rotation through the env file would silently do nothing.
const ROTATED_VARIABLES = ['INTERNAL_SERVICE_TOKEN', 'INTERNAL_SERVICE_TOKEN_ACCEPT'];

const generated = ensureEnvFile();
if (generated.length > 0)
  console.log(
    `[start] generated ${generated.join(' and ')} in ${ENV_FILE} (git-ignored; keep it secret)`,
  );

console.log('[start] building (cached when nothing changed)...');
buildServices();

/** The services' environment: the env file under the shell's variables, as read at boot. */
function serviceEnvironment() {
  const env = stackEnvironment();
  // Readable logs in a terminal unless the operator chose a format.
  env.LOG_FORMAT ||= 'text';
  return env;
}

let env = serviceEnvironment();
const children = [];
/** The current process of each service, by name, and where it listens. */
const running = new Map();
/** Processes stopped on purpose by a rolling restart: their exit does not stop the stack. */
const retiring = new Set();
let stopping = false;
let stackState;

function stopAll(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  const pending = children.filter((child) => child.exitCode === null && child.signalCode === null);
  let left = pending.length;
  if (left === 0) process.exit(code);
  for (const child of pending) child.once('exit', () => --left === 0 && process.exit(code));
  setTimeout(() => process.exit(code), 10_000).unref();
}
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));
process.on('exit', () => stackState && rmSync(STATE_FILE, { force: true }));
// Registered before anything starts: unhandled, SIGUSR2 would end the process.
process.on('SIGUSR2', () => onRestartSignal());

function startService(service, serviceEnv) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'apps', service.name, 'main.js')], {
      cwd: ROOT,
      env: serviceEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let listening = false;
    const relay = (stream) => (chunk) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        stream.write(`[${service.name}] ${line}\n`);
        const match = /listening on (http:\/\/[^\s"]+)/.exec(line);
        if (match && !listening) {
          listening = true;
          running.set(service.name, { child, url: match[1] });
          resolve(match[1]);
        }
      }
    };
    child.stdout.on('data', relay(process.stdout));
    child.stderr.on('data', relay(process.stderr));
    child.once('exit', (code, signal) => {
      if (!listening) reject(new Error(`${service.name} exited (code ${code}) before listening`));
      else if (!stopping && !retiring.has(child)) {
        console.error(
          `[start] ${service.name} stopped (code ${code}, signal ${signal}): stopping the stack`,
        );
        stopAll(1);
      }
    });
  });
}

/** Records this process and its services for rotate-token.mjs (pid, urls, restarts so far). */
function writeState(update) {
  stackState = { ...stackState, ...update };
  stackState.services = Object.fromEntries([...running].map(([name, { url }]) => [name, url]));
  const temporary = `${STATE_FILE}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(stackState, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, STATE_FILE);
}

/** Sends SIGTERM to `child` and waits for it to exit (SIGKILL after 10 s). */
function stopChild(child) {
  retiring.add(child);
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Restarts every service, one at a time and in start order, with the env file as it is now:
 * stop one, start it again, wait until it listens, then the next. Each service is down while
 * it restarts (about a second; callers get 503 "<service> unavailable" meanwhile), so this is
 * for a local stack; see docs/runbooks/token-rotation.md for what production needs.
 * @returns a one-line outcome (never a secret).
 */
async function restartOneByOne() {
  const shadowed = ROTATED_VARIABLES.filter((name) => process.env[name] !== undefined);
  if (shadowed.length > 0) {
    return {
      ok: false,
      message: `${shadowed.join(' and ')} set in the shell that ran npm start wins over ${ENV_FILE}: nothing restarted (restart npm start without it)`,
    };
  }
  const next = serviceEnvironment();
  console.log(`\n[start] rolling restart: each service in turn, with ${ENV_FILE} as it is now`);
  for (const [index, service] of SERVICES.entries()) {
    const current = running.get(service.name);
    console.log(`[start] restarting ${service.name} (${index + 1}/${SERVICES.length})`);
    await stopChild(current.child);
    if (stopping) return { ok: false, message: 'the stack is stopping' };
    try {
      const url = await startService(service, next);
      console.log(`[start] ${service.name} is back: ${url}`);
    } catch (error) {
      if (stopping) return { ok: false, message: 'the stack is stopping' };
      console.error(`[start] ${error.message}: starting it again with its previous configuration`);
      // Throws (and the stack stops) only if the previous configuration fails as well.
      await startService(service, env);
      const rest = SERVICES.slice(index).map((s) => s.name);
      return {
        ok: false,
        message: `${service.name} refused the new configuration (its error is in the npm start output); ${rest.join(', ')} still run the previous one`,
      };
    }
  }
  env = next;
  return { ok: true, message: `every service restarted with ${ENV_FILE}` };
}

let restarting = false;
let restartRequested = false;

async function rollingRestart() {
  restarting = true;
  let outcome;
  try {
    do {
      restartRequested = false;
      outcome = await restartOneByOne();
    } while (restartRequested && outcome.ok && !stopping);
  } catch (error) {
    console.error(`[start] rolling restart failed: ${error.message}`);
    stopAll(1);
    return;
  } finally {
    restarting = false;
  }
  if (stopping) return;
  (outcome.ok ? console.log : console.error)(`[start] rolling restart: ${outcome.message}\n`);
  writeState({
    restarts: stackState.restarts + 1,
    lastRestart: { ok: outcome.ok, message: outcome.message, at: new Date().toISOString() },
  });
}

function onRestartSignal() {
  if (stopping || stackState === undefined) {
    console.error('[start] SIGUSR2: the stack is not up (yet); nothing restarted');
  } else if (restarting) {
    // Whatever changed in the env file meanwhile is picked up by one more round.
    restartRequested = true;
  } else {
    void rollingRestart();
  }
}

try {
  const urls = [];
  for (const service of SERVICES) urls.push([service.name, await startService(service, env)]);
  console.log('\n[start] the stack is up:');
  for (const [name, url] of urls) console.log(`  ${name.padEnd(18)} ${url}`);
  const auth = urls.find(([name]) => name === 'auth-server');
  if (auth) {
    const code = await createInvite({ ...env, AUTH_SERVER_URL: auth[1] }, 'pro');
    console.log(`\n[start] a first invite (tier pro, single use): ${code}`);
    console.log(
      '[start] register with it as in docs/quickstart.md; more: npm run invite -- <free|pro|team>',
    );
  }
  console.log(
    '\n[start] internal routes need the X-INTERNAL-TOKEN header (value in .env); try docs/curl-matrix.md.',
  );
  writeState({ pid: process.pid, envFile: ENV_FILE, restarts: 0, lastRestart: null });
  console.log('[start] Ctrl-C stops everything.\n');
} catch (error) {
  console.error(`[start] ${error.message}`);
  stopAll(1);
}
