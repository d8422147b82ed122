// `npm run rotate-token -- <step>`: rotates INTERNAL_SERVICE_TOKEN of the local stack in the
// three steps of docs/runbooks/token-rotation.md, without a request refused for its token:
//   accept  every service keeps sending the current token and also accepts a new one
//   send    every service sends the new token and still accepts the old one
//   drop    every service accepts only the token it sends
// Each step edits the env file (.env, or STACK_ENV_FILE) and, when `npm start` runs on that
// file, has it restart the services one at a time (SIGUSR2), waits for the restart, then
// checks every internal service with the tokens. A token is never printed nor passed on a
// command line: the new one is generated here (or read from standard input with --stdin)
// and written to the env file only (mode 0600).
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { shellEnvironment } from './config/environment';
import { clientHeaders } from './lib/operator-credentials';
import { restartStack as restartRunningStack, runningStack } from './lib/running-stack';
import {
  authServerUrl,
  ENV_FILE,
  errorMessage,
  generateSecret,
  runMain,
  stackEnvironment,
  type StackState,
} from './stack';

const SEND = 'INTERNAL_SERVICE_TOKEN';
const ACCEPT = 'INTERNAL_SERVICE_TOKEN_ACCEPT';

// The services that take the shared token from their callers, each probed on a route that
// reads and changes nothing and answers 200 to an accepted token (GET /metrics no longer takes
// the shared token: it has a read-only credential of its own). As the client that may call
// that route: with service identity (INTERNAL_AUTH_MODE token+jwt) a probe carries that
// client's service token too (its <CLIENT>_CLIENT_SECRET), without which every probe would
// answer 401.
const PROBES: Readonly<
  Record<
    'billing-server' | 'auth-server' | 'filesystem-server',
    { path: string; client: string; headers?: Readonly<Record<string, string>> }
  >
> = {
  'billing-server': { path: '/stats/subscription_count', client: 'auth-server' },
  'auth-server': { path: '/revocations', client: 'backend' },
  'filesystem-server': {
    path: '/files',
    client: 'backend',
    headers: { 'X-User-ID': 'rotate-token-probe' },
  },
};
const PROBED = Object.keys(PROBES) as Array<keyof typeof PROBES>;

/** The tokens of the env file: the one sent, and the others also accepted. */
interface Tokens {
  readonly text: string;
  readonly send: string;
  readonly accepted: string[];
}

interface Options {
  readonly noRestart: boolean;
  readonly stdin: boolean;
}

const USAGE = `usage: npm run rotate-token -- <command> [--no-restart]

  status    what ${ENV_FILE} holds (fingerprints, never tokens) and whether npm start runs on it
  accept    step 1: generate a new token; every service keeps sending the current one and
            also accepts the new one (--stdin: read the new token from standard input)
  send      step 2: every service sends the new token and still accepts the old one
            (run it again to go back to the state after step 1)
  drop      step 3: every service accepts only the token it sends (right after accept,
            this cancels the rotation instead)
  restart   restart the running npm start stack, one service at a time, with the file as it is

  --no-restart  only edit the file; restart the services yourself (docker compose: one at a
                time, see docs/runbooks/token-rotation.md)

Run each step only once the previous one is live on every service.`;

class UsageError extends Error {}

const say = (line: string): void => console.log(`[rotate-token] ${line}`);

/** A token's fingerprint: the first 12 hex digits of its SHA-256 (it reveals nothing of it). */
function fingerprint(token: string): string {
  return `sha256:${createHash('sha256').update(token, 'utf8').digest('hex').slice(0, 12)}`;
}

/** Why `token` would be refused by the services at boot (libs/service-utils), or undefined. */
function weakness(token: string): string | undefined {
  if (token.length < 32) return 'is shorter than 32 characters';
  if (new Set(token).size < 12) return 'has fewer than 12 distinct characters';
  // Stricter than the services (visible ASCII but a comma): also safe unquoted in an env file.
  if (!/^[A-Za-z0-9+/=_.-]+$/.test(token)) {
    return 'may hold only letters, digits and + / = _ . - (as openssl rand -base64 32 makes)';
  }
  return undefined;
}

function readTokens(): Tokens {
  if (!existsSync(ENV_FILE)) {
    throw new UsageError(`${ENV_FILE} does not exist: run npm start once to create it`);
  }
  const text = readFileSync(ENV_FILE, 'utf8');
  const values = parseEnv(text);
  const send = values[SEND]?.trim() ?? '';
  const problem = send === '' ? 'is empty' : weakness(send);
  if (problem) throw new UsageError(`${SEND} in ${ENV_FILE} ${problem}: fix the file first`);
  const accepted = (values[ACCEPT] ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '' && entry !== send);
  return { text, send, accepted };
}

/** Rewrites the two variables in the env file, keeping every other line, atomically, mode 0600. */
function writeTokens(text: string, send: string, accepted: readonly string[]): void {
  const line = (name: string) => new RegExp(`^[ \\t]*(?:export[ \\t]+)?${name}[ \\t]*=.*$`, 'gm');
  // Replacement functions, not strings: a `$` in a value must stay a `$`.
  let updated = text.replace(line(SEND), () => `${SEND}=${send}`);
  const acceptLine = `${ACCEPT}=${accepted.join(',')}`;
  if (line(ACCEPT).test(updated)) updated = updated.replace(line(ACCEPT), () => acceptLine);
  else updated = updated.replace(line(SEND), (sendLine) => `${sendLine}\n${acceptLine}`);
  const temporary = `${ENV_FILE}.${process.pid}.tmp`;
  writeFileSync(temporary, updated, { mode: 0o600 });
  renameSync(temporary, ENV_FILE);
  chmodSync(ENV_FILE, 0o600);
}

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk) => (data += chunk));
    process.stdin.on('end', () => resolve(data.trim()));
    process.stdin.on('error', reject);
  });
}

/** Has npm start restart its services one at a time; resolves with its outcome. */
function restartStack(stack: StackState): Promise<StackState> {
  return restartRunningStack(stack, say);
}

/** The status `GET <path>` of `url` answers with `token` (0 when unreachable). */
async function probe(
  url: string,
  path: string,
  headers: Readonly<Record<string, string>>,
  token: string,
): Promise<number> {
  try {
    const response = await fetch(`${url}${path}`, {
      headers: { ...headers, 'X-INTERNAL-TOKEN': token },
      signal: AbortSignal.timeout(10_000),
    });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0;
  }
}

/**
 * Checks that every internal service of the running stack answers 200 to each token of
 * `accepted` and 403 to each of `refused`; throws naming the services that do not.
 */
async function verify(
  stack: StackState,
  accepted: readonly string[],
  refused: readonly string[],
): Promise<void> {
  const wrong: string[] = [];
  const env = stackEnvironment();
  const asClient = clientHeaders(env, stack.services['auth-server'] ?? authServerUrl(env));
  for (const name of PROBED) {
    const url = stack.services[name];
    if (!url) continue;
    // Throws, naming the variable, when the mode needs a secret the env file lacks.
    const { path, client, headers: extra } = PROBES[name];
    const headers = { ...extra, ...(await asClient(client, name)) };
    for (const [token, expected] of [
      ...accepted.map((t) => [t, 200] as const),
      ...refused.map((t) => [t, 403] as const),
    ]) {
      const status = await probe(url, path, headers, token);
      if (status !== expected) {
        wrong.push(`${name} answered ${status} to ${fingerprint(token)} (expected ${expected})`);
      }
    }
  }
  if (wrong.length > 0) throw new Error(`check failed: ${wrong.join('; ')}`);
  const names = PROBED.join(', ');
  say(
    `checked ${names}: accept ${accepted.map(fingerprint).join(' and ')}` +
      (refused.length > 0 ? `, refuse ${refused.map(fingerprint).join(' and ')}` : ''),
  );
}

/** After the file changed: restart npm start when it runs (unless told not to), then check. */
async function apply(
  options: Options,
  accepted: readonly string[],
  refused: readonly string[],
): Promise<boolean> {
  if (options.noRestart) {
    say('the running services still have the previous configuration: restart them one at a time');
    say('(docs/runbooks/token-rotation.md; npm start: npm run rotate-token -- restart)');
    return false;
  }
  const stack = runningStack();
  if (!stack) {
    say(`no npm start runs on ${ENV_FILE}: the next start of the services uses the new file`);
    return false;
  }
  await verify(await restartStack(stack), accepted, refused);
  return true;
}

function warnShellOverride(): void {
  for (const name of [SEND, ACCEPT]) {
    if (shellEnvironment[name] !== undefined) {
      say(
        `warning: ${name} is set in this shell; where it is also set for npm start, it wins over ${ENV_FILE}`,
      );
    }
  }
}

const commands: Readonly<Record<string, (options: Options) => Promise<void>>> = {
  async status() {
    const { send, accepted } = readTokens();
    say(`${ENV_FILE}:`);
    say(`  sends and accepts ${fingerprint(send)}`);
    if (accepted.length === 0) say('  accepts no other token: no rotation in progress');
    else {
      say(`  also accepts ${accepted.map(fingerprint).join(', ')}: a rotation is in progress`);
      say('  (after accept: next is send; after send: next is drop)');
    }
    const stack = runningStack();
    if (!stack) say(`npm start: not running on ${ENV_FILE}`);
    else {
      const last = stack.lastRestart
        ? `; last restart ${stack.lastRestart.ok ? 'ok' : 'FAILED'} at ${stack.lastRestart.at}`
        : '';
      say(`npm start: pid ${stack.pid}, ${stack.restarts} rolling restart(s)${last}`);
    }
  },

  async accept(options) {
    const { text, send, accepted } = readTokens();
    if (accepted.length > 0) {
      throw new UsageError(
        `${ACCEPT} is not empty: a rotation is in progress. Finish it (send, drop) or cancel it (drop) first`,
      );
    }
    const next = options.stdin ? await readStdin() : generateSecret();
    const problem = weakness(next);
    if (problem) throw new UsageError(`the new token ${problem}`);
    if (next === send) throw new UsageError('the new token is the current one');
    writeTokens(text, send, [next]);
    say(`step 1 of 3 (accept): ${ENV_FILE} now has`);
    say(`  ${SEND} = ${fingerprint(send)} (unchanged: still sent)`);
    say(`  ${ACCEPT} = ${fingerprint(next)} (new: accepted, not yet sent)`);
    if (await apply(options, [send, next], [])) say('next: npm run rotate-token -- send');
  },

  async send(options) {
    const { text, send, accepted } = readTokens();
    if (accepted.length !== 1) {
      throw new UsageError(
        `${ACCEPT} must hold exactly one token (the new one, from accept); it holds ${accepted.length}`,
      );
    }
    const [next] = accepted;
    writeTokens(text, next, [send]);
    say(`step 2 of 3 (send): ${ENV_FILE} now has`);
    say(`  ${SEND} = ${fingerprint(next)} (sent)`);
    say(`  ${ACCEPT} = ${fingerprint(send)} (still accepted, no longer sent)`);
    if (await apply(options, [next, send], [])) say('next: npm run rotate-token -- drop');
  },

  async drop(options) {
    const { text, send, accepted } = readTokens();
    if (accepted.length === 0) throw new UsageError(`${ACCEPT} is already empty: nothing to drop`);
    writeTokens(text, send, []);
    say(`step 3 of 3 (drop): ${ENV_FILE} now has`);
    say(`  ${SEND} = ${fingerprint(send)} (sent, and the only one accepted)`);
    say(`  ${ACCEPT} empty (dropped ${accepted.map(fingerprint).join(', ')})`);
    if (await apply(options, [send], accepted)) say('done: the dropped token opens nothing now');
  },

  async restart() {
    const stack = runningStack();
    if (!stack) throw new UsageError(`no npm start runs on ${ENV_FILE}`);
    await restartStack(stack);
  },
};

async function main(): Promise<void> {
  const [command = '', ...flags] = process.argv.slice(2);
  const options = { noRestart: flags.includes('--no-restart'), stdin: flags.includes('--stdin') };
  const unknown = flags.filter((flag) => !['--no-restart', '--stdin'].includes(flag));
  if (!Object.hasOwn(commands, command) || unknown.length > 0) {
    console.error(USAGE);
    process.exit(2);
  }
  try {
    warnShellOverride();
    await commands[command](options);
  } catch (error) {
    console.error(`[rotate-token] ${errorMessage(error)}`);
    process.exit(error instanceof UsageError ? 2 : 1);
  }
}

runMain(main);
