// `npm run client -- <rotate|promote|revoke|add> <client-id>`: manages a service client's
// secret in the stack's env file (.env, or STACK_ENV_FILE), as docs/runbooks/client-rotation.md
// tells:
//   rotate   writes a fresh <CLIENT>_CLIENT_SECRET_NEXT (the auth server accepts both, the
//            client sends the next one)
//   promote  moves _NEXT into <CLIENT>_CLIENT_SECRET and removes _NEXT
//   revoke   empties both (the auth server refuses the client: 401 invalid_client)
//   add      a fresh <CLIENT>_CLIENT_SECRET for a client of the policy the file lacks
// The client id must be one of SERVICE_CLIENTS (libs/contracts): which clients exist and what
// they may call is code, changed by a reviewed commit, never by this command. A secret is
// generated here and written to the env file only (mode 0600): never printed, never on a
// command line. Each command says what to restart next; when `npm start` runs on the file it
// has it restart the services one at a time (the auth server before its callers), unless
// --no-restart.
import { SERVICE_AUDIENCES, SERVICE_CLIENTS } from '@zt/contracts';
import { clientSecretVariable } from '@zt/service-utils';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { shellEnvironment } from './config/environment';
import { restartStack, runningStack } from './lib/running-stack';
import { ENV_FILE, errorMessage, generateSecret, REVOKED_MARKER, ROOT, runMain } from './stack';

const USAGE = `usage: npm run client -- <command> <client-id> [--no-restart]

  rotate    write a fresh <CLIENT>_CLIENT_SECRET_NEXT: the auth server accepts it beside the
            current secret, the client sends it (refused while a rotation is in progress)
  promote   make the next secret the only one: move _NEXT into <CLIENT>_CLIENT_SECRET
  revoke    empty both secrets: the auth server refuses the client (401 invalid_client);
            tokens it already holds stay valid until they expire
  add       a fresh <CLIENT>_CLIENT_SECRET for a client of the policy that has none in the file
            (or whose secret was revoked)

  client-id  one of: ${SERVICE_CLIENTS.map((client) => client.clientId).join(', ')}
             (the policy, SERVICE_CLIENTS in libs/contracts: adding a client is a code change)
  --no-restart  only edit the file; restart the services yourself (as the command says)

Operates on ${ENV_FILE}; never prints a secret. See docs/runbooks/client-rotation.md.`;

class UsageError extends Error {}

const say = (line: string): void => console.log(`[client] ${line}`);

/** A secret's fingerprint: the first 12 hex digits of its SHA-256 (it reveals nothing of it). */
function fingerprint(secret: string): string {
  return `sha256:${createHash('sha256').update(secret, 'utf8').digest('hex').slice(0, 12)}`;
}

/** Matches the line(s) assigning `name` in an env file. */
function lineOf(name: string): RegExp {
  return new RegExp(`^[ \\t]*(?:export[ \\t]+)?${name}[ \\t]*=.*$`, 'gm');
}

/** One client's secrets in the env file, and how to write them back. */
class ClientSecrets {
  readonly current: string;
  readonly next: string;
  readonly nextName: string;

  constructor(
    readonly clientId: string,
    readonly name: string,
    private text: string,
  ) {
    this.nextName = `${name}_NEXT`;
    const values = parseEnv(text);
    this.current = values[name]?.trim() ?? '';
    this.next = values[this.nextName]?.trim() ?? '';
  }

  /** Whether the file assigns `name` at all (even to nothing). */
  has(name: string): boolean {
    return lineOf(name).test(this.text);
  }

  /** Sets `name` to `value`: in place when the file has it, else after `after` or at the end. */
  set(name: string, value: string, after?: string): void {
    // Replacement functions, not strings: a `$` in a value must stay a `$`.
    if (this.has(name)) this.text = this.text.replace(lineOf(name), () => `${name}=${value}`);
    else if (after && this.has(after)) {
      this.text = this.text.replace(lineOf(after), (line) => `${line}\n${name}=${value}`);
    } else this.text = `${this.text.replace(/\n*$/, '\n')}${name}=${value}\n`;
  }

  remove(name: string): void {
    this.text = this.text.replace(new RegExp(`${lineOf(name).source}\\n?`, 'gm'), '');
  }

  /** Marks the current secret revoked (npm start then leaves it empty), or unmarks it. */
  markRevoked(revoked: boolean): void {
    const marked = new RegExp(`^${REVOKED_MARKER}.*\\n(?=${lineOf(this.name).source})`, 'gm');
    this.text = this.text.replace(marked, '');
    if (revoked) {
      const note = `${REVOKED_MARKER} (${this.clientId}, ${new Date().toISOString()}): npm start leaves it empty; npm run client -- add ${this.clientId} restores it`;
      this.text = this.text.replace(lineOf(this.name), (line) => `${note}\n${line}`);
    }
  }

  /** Writes the file back atomically, mode 0600. */
  save(): void {
    const temporary = `${ENV_FILE}.${process.pid}.tmp`;
    writeFileSync(temporary, this.text, { mode: 0o600 });
    renameSync(temporary, ENV_FILE);
    chmodSync(ENV_FILE, 0o600);
  }
}

function readClient(clientId: string): ClientSecrets {
  if (!SERVICE_CLIENTS.some((client) => client.clientId === clientId)) {
    throw new UsageError(
      `unknown client "${clientId}": the clients are ${SERVICE_CLIENTS.map((c) => c.clientId).join(', ')} ` +
        '(SERVICE_CLIENTS in libs/contracts/src/lib/oauth/service-clients.ts; adding one is a reviewed code change there, then npm run client -- add <client-id>)',
    );
  }
  if (!existsSync(ENV_FILE)) {
    throw new UsageError(`${ENV_FILE} does not exist: run npm start once to create it`);
  }
  return new ClientSecrets(
    clientId,
    clientSecretVariable(clientId),
    readFileSync(ENV_FILE, 'utf8'),
  );
}

/** Who sends this client's secret, for the "restart next" advice. */
function callers(clientId: string): string {
  if ((SERVICE_AUDIENCES as readonly string[]).includes(clientId))
    return `every process of ${clientId}`;
  if (clientId === 'operator') return 'nothing (npm run invite reads the file each time it runs)';
  return `whatever uses the ${clientId} client (give it the new secret from ${ENV_FILE})`;
}

/** Which mode the file sets: the client secrets matter in token+jwt and jwt, or with the shadow. */
function modeNote(text: string): string {
  const values = parseEnv(text);
  const mode = values.INTERNAL_AUTH_MODE || 'token';
  const shadow = values.INTERNAL_AUTH_SHADOW === 'jwt' ? ', INTERNAL_AUTH_SHADOW=jwt' : '';
  return `INTERNAL_AUTH_MODE=${mode}${shadow}`;
}

interface Options {
  readonly noRestart: boolean;
}

/** After the file changed: say what to restart, and have npm start restart when it runs. */
async function apply(options: Options, restartSteps: string, next?: string): Promise<void> {
  const stack = runningStack();
  if (!stack) {
    say(`npm start: not running on ${ENV_FILE}; the next start of the services uses the new file`);
    say(`in a deployment: ${restartSteps}`);
  } else if (options.noRestart) {
    say(`npm start: running (pid ${stack.pid}) with the previous secrets`);
    say(
      `next: ${restartSteps} (npm start: npm run rotate-token -- restart restarts all, auth-server before its callers)`,
    );
  } else {
    say(`npm start: running (pid ${stack.pid}); ${restartSteps}:`);
    await restartStack(stack, say);
  }
  if (next) say(`then: ${next}`);
}

function warnShellOverride(secrets: ClientSecrets): void {
  for (const name of [secrets.name, secrets.nextName]) {
    if (shellEnvironment[name] !== undefined) {
      say(
        `warning: ${name} is set in this shell; where it is also set for npm start, it wins over ${ENV_FILE}`,
      );
    }
  }
}

const commands: Readonly<
  Record<string, (secrets: ClientSecrets, options: Options) => Promise<void>>
> = {
  async rotate(secrets, options) {
    const { clientId, name, nextName } = secrets;
    if (secrets.current === '') {
      throw new UsageError(
        `${name} is empty or missing in ${ENV_FILE}: nothing to rotate (npm run client -- add ${clientId} gives the client a secret)`,
      );
    }
    if (secrets.next !== '') {
      throw new UsageError(
        `${nextName} is already set: a rotation is in progress. Finish it first (npm run client -- promote ${clientId})`,
      );
    }
    const next = generateSecret();
    secrets.set(nextName, next, name);
    secrets.save();
    say(`rotate ${clientId}: ${ENV_FILE} now has`);
    say(`  ${name} = ${fingerprint(secrets.current)} (unchanged: still accepted)`);
    say(
      `  ${nextName} = ${fingerprint(next)} (new: accepted by the auth server, sent by the client)`,
    );
    await apply(
      options,
      `restart auth-server first (it then accepts both), then the callers: ${callers(clientId)}`,
      `once every process of the client runs with it: npm run client -- promote ${clientId}`,
    );
  },

  async promote(secrets, options) {
    const { clientId, name, nextName } = secrets;
    if (secrets.next === '') {
      throw new UsageError(
        `${nextName} is not set: no rotation to promote (start one with npm run client -- rotate ${clientId})`,
      );
    }
    const previous = secrets.current;
    secrets.set(name, secrets.next);
    secrets.remove(nextName);
    secrets.markRevoked(false);
    secrets.save();
    say(`promote ${clientId}: ${ENV_FILE} now has`);
    say(`  ${name} = ${fingerprint(secrets.next)} (the only secret accepted and sent)`);
    say(
      `  ${nextName} removed${previous ? ` (the old ${fingerprint(previous)} is no longer accepted once auth-server restarts)` : ''}`,
    );
    await apply(
      options,
      `restart auth-server (it then refuses the old secret) and the callers, in any order (they send the same secret, now the current one): ${callers(clientId)}`,
    );
  },

  async revoke(secrets, options) {
    const { clientId, name, nextName } = secrets;
    if (secrets.current === '' && secrets.next === '' && secrets.has(name)) {
      throw new UsageError(`${clientId} is already revoked: ${name} is empty in ${ENV_FILE}`);
    }
    const dropped = [secrets.current, secrets.next].filter((secret) => secret !== '');
    secrets.set(name, '');
    if (secrets.has(nextName)) secrets.set(nextName, '');
    secrets.markRevoked(true);
    secrets.save();
    say(
      `revoke ${clientId}: ${ENV_FILE} now has ${name} empty${secrets.has(nextName) ? ` and ${nextName} empty` : ''}`,
    );
    say(
      `  dropped ${dropped.map(fingerprint).join(' and ') || 'nothing'}; npm start leaves it empty from now on`,
    );
    say(
      `  (${modeNote(readFileSync(ENV_FILE, 'utf8'))}; a service whose own client is revoked cannot start in token+jwt or jwt)`,
    );
    await apply(
      options,
      'restart auth-server: from then on the client gets 401 invalid_client; tokens it already holds stay valid until their exp (SERVICE_TOKEN_TTL_SECONDS, 300 s by default)',
    );
  },

  async add(secrets, options) {
    const { clientId, name, nextName } = secrets;
    if (secrets.current !== '' || secrets.next !== '') {
      throw new UsageError(
        `${clientId} already has a secret in ${ENV_FILE}: to replace it, npm run client -- rotate ${clientId}`,
      );
    }
    const secret = generateSecret();
    const restored = secrets.has(name);
    secrets.set(name, secret);
    secrets.remove(nextName);
    secrets.markRevoked(false);
    secrets.save();
    say(
      `add ${clientId}: ${ENV_FILE} now has ${name} = ${fingerprint(secret)} (${restored ? 'it was empty' : 'appended'})`,
    );
    say(
      '  the client and what it may call come from SERVICE_CLIENTS (libs/contracts): a code change, reviewed; this command edits no code',
    );
    if (!lineOf(name).test(readFileSync(join(ROOT, '.env.example'), 'utf8'))) {
      say(`  ${name} is not in .env.example yet: add it there (empty) and run npm run policy`);
    }
    await apply(
      options,
      `restart auth-server (it then knows the secret), then the callers: ${callers(clientId)}`,
    );
  },
};

async function main(): Promise<void> {
  const positional = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
  const flags = process.argv.slice(2).filter((arg) => arg.startsWith('--'));
  const [command = '', clientId = '', ...extra] = positional;
  const unknown = flags.filter((flag) => flag !== '--no-restart');
  if (
    !Object.hasOwn(commands, command) ||
    clientId === '' ||
    extra.length > 0 ||
    unknown.length > 0
  ) {
    console.error(USAGE);
    process.exit(2);
  }
  try {
    const secrets = readClient(clientId);
    warnShellOverride(secrets);
    await commands[command](secrets, { noRestart: flags.includes('--no-restart') });
  } catch (error) {
    console.error(`[client] ${errorMessage(error)}`);
    process.exit(error instanceof UsageError ? 2 : 1);
  }
}

runMain(main);
