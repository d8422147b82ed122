// The `npm start` process that runs on the stack's env file, found through its state file
// (STATE_FILE, beside the env file), and its rolling restart (SIGUSR2): shared by the scripts
// that change the env file under a running stack (`npm run rotate-token`, `npm run client`).
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { type StackState, stackStateSchema, STATE_FILE } from '../stack';

const RESTART_TIMEOUT_MS = 180_000;

/** The npm start process running on this env file, when there is one. */
export function runningStack(): StackState | undefined {
  if (!existsSync(STATE_FILE)) return undefined;
  let state: StackState;
  try {
    state = stackStateSchema.parse(JSON.parse(readFileSync(STATE_FILE, 'utf8')));
    process.kill(state.pid, 0);
  } catch {
    return undefined; // left behind by a stack that did not stop cleanly
  }
  return state;
}

/**
 * Has npm start restart its services one at a time, in start order (billing, auth,
 * filesystem, backend: the auth server before the services that call it), with the env file
 * as it is now; resolves with its outcome, or throws when the restart failed.
 */
export async function restartStack(
  stack: StackState,
  say: (line: string) => void,
): Promise<StackState> {
  say(`npm start (pid ${stack.pid}) restarts each service in turn...`);
  process.kill(stack.pid, 'SIGUSR2');
  const deadline = Date.now() + RESTART_TIMEOUT_MS;
  while (Date.now() < deadline) {
    await sleep(250);
    const now = runningStack();
    if (!now) throw new Error('npm start stopped during the restart');
    if (now.restarts > stack.restarts && now.lastRestart) {
      if (!now.lastRestart.ok) throw new Error(`the restart failed: ${now.lastRestart.message}`);
      say(now.lastRestart.message);
      return now;
    }
  }
  throw new Error(`no answer from npm start within ${RESTART_TIMEOUT_MS / 1000} s`);
}
