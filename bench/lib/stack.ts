// The four built services as processes, started by the stack launcher as `npm start` starts
// them, for the internal-hop and memory scenarios; and small HTTP helpers to set them up as a
// user would.
import type { ServiceName, ServiceStack } from '@zt/stack-launcher';
import type { ProcessGroup } from './processes';

const PASSWORD = 'bench password, long enough';

/** An answer: its status and its body (parsed when JSON, else the text). */
export interface Answer {
  readonly status: number;
  readonly body: unknown;
}

export interface CallOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  /** Sent as JSON (with its Content-Type). */
  readonly json?: unknown;
  readonly body?: string;
}

/** `fetch` with a deadline, answering `{ status, body }` (body parsed when JSON). */
export async function call(
  url: string,
  { method = 'GET', headers = {}, json, body }: CallOptions = {},
): Promise<Answer> {
  const response = await fetch(url, {
    method,
    headers: json === undefined ? headers : { ...headers, 'Content-Type': 'application/json' },
    body: json === undefined ? body : JSON.stringify(json),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: parsed };
}

/** Throws unless `answer.status` is `expected`. */
export function expectStatus(what: string, answer: Answer, expected: number): unknown {
  if (answer.status !== expected) {
    throw new Error(
      `${what}: expected ${expected}, got ${answer.status} ${JSON.stringify(answer.body)}`,
    );
  }
  return answer.body;
}

/** The string field `name` of a JSON answer's body; throws when it has none. */
export function stringField(what: string, body: unknown, name: string): string {
  const value: unknown =
    typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
  if (typeof value !== 'string') {
    throw new Error(`${what}: the answer has no string "${name}": ${JSON.stringify(body)}`);
  }
  return value;
}

/** Where `name` of a launched stack listens; throws when it is not part of it. */
export function urlOf(stack: ServiceStack, name: ServiceName): string {
  const url = stack.urls[name];
  if (url === undefined) throw new Error(`${name} is not part of this stack`);
  return url;
}

/**
 * Starts billing, filesystem, auth and backend (libs/stack-launcher) with one internal token,
 * on PostgreSQL (`databaseUrl`: billing and auth each in their own schema of it) or on
 * embedded PGlite under `dataDir` (no `databaseUrl`). Returns the launcher's stack
 * (`urls`, `process(name)`, `restart(name)`, `stopAll()`).
 */
export function startStack(
  group: ProcessGroup,
  {
    token,
    dataDir,
    databaseUrl,
    env = {},
  }: { token: string; dataDir: string; databaseUrl?: string; env?: Record<string, string> },
): Promise<ServiceStack> {
  return group.launchStack({
    env: { ...env, INTERNAL_SERVICE_TOKEN: token, DATA_DIR: dataDir, DATABASE_URL: databaseUrl },
  });
}

/** A signed-up user with a fresh access token. */
export interface BenchUser {
  readonly userId: string;
  readonly email: string;
  readonly password: string;
  readonly accessToken: string;
}

/**
 * Registers a user with a fresh invite of `tier`, logs in; `{ userId, email, accessToken }`.
 * `inviteHeaders` are added to the invite request (the operator's service token, with
 * service identity).
 */
export async function signUp(
  stack: ServiceStack,
  token: string,
  email: string,
  tier: string,
  inviteHeaders: Record<string, string> = {},
): Promise<BenchUser> {
  const auth = urlOf(stack, 'auth-server');
  const invite = expectStatus(
    'POST /invites',
    await call(`${auth}/invites`, {
      method: 'POST',
      headers: { ...inviteHeaders, 'X-INTERNAL-TOKEN': token },
      json: { tier },
    }),
    201,
  );
  const registered = expectStatus(
    'POST /register',
    await call(`${auth}/register`, {
      method: 'POST',
      json: {
        email,
        password: PASSWORD,
        invite_code: stringField('POST /invites', invite, 'invite_code'),
      },
    }),
    201,
  );
  const login = expectStatus(
    'POST /login',
    await call(`${auth}/login`, { method: 'POST', json: { email, password: PASSWORD } }),
    200,
  );
  return {
    userId: stringField('POST /register', registered, 'user_id'),
    email,
    password: PASSWORD,
    accessToken: stringField('POST /login', login, 'access_token'),
  };
}
