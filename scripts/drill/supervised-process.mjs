// A service process that is started again whenever it dies (as `restart: unless-stopped`
// does in docker-compose.yml), so the drill can kill -9 it at any moment.
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';

const RESTART_PAUSE_MS = 200;
const START_TIMEOUT_MS = 60_000;

/** A promise with its resolve and reject. */
function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((yes, no) => {
    resolve = yes;
    reject = no;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * @param {{ name: string, main: string, env: Record<string, string>, logFile: string }} options
 */
export function superviseProcess({ name, main, env, logFile }) {
  let child;
  let stopping = false;
  // Settles when the process that is (or will next be) running listens.
  let listening = deferred();
  let kills = 0;
  let killed = false;

  const launch = () => {
    const current = listening;
    killed = false;
    let up = false;
    child = spawn(process.execPath, [main], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (chunk) => {
      appendFileSync(logFile, chunk);
      if (!up && /listening on http:\/\//.test(chunk.toString('utf8'))) {
        up = true;
        current.resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(
      () => current.reject(new Error(`${name} did not start within ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    timer.unref();
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      appendFileSync(logFile, `\n[drill] ${name} exited (${signal ?? code})\n`);
      if (stopping) return;
      if (!up && !killed) {
        return current.reject(new Error(`${name} exited before listening (${code})`));
      }
      if (listening === current) listening = deferred();
      // Waiters on the process that died move on to the next one (see ready()).
      current.resolve();
      setTimeout(launch, RESTART_PAUSE_MS);
    });
  };
  launch();

  return {
    name,
    /** Resolves when the current process listens (after a kill: the one started after it). */
    async ready() {
      for (let seen; seen !== listening;) {
        seen = listening;
        await seen.promise;
      }
    },
    /** SIGKILL: no shutdown hook runs, as in a crash; it is started again. */
    kill9() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      kills += 1;
      killed = true;
      listening = deferred();
      child.kill('SIGKILL');
    },
    get kills() {
      return kills;
    },
    async stop() {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
