// The four built services as processes, started by the stack launcher as `npm start` starts
// them, for the internal-hop and memory scenarios; and small HTTP helpers to set them up as a
// user would.
const PASSWORD = 'bench password, long enough';

/** `fetch` with a deadline, answering `{ status, body }` (body parsed when JSON). */
export async function call(url, { method = 'GET', headers = {}, json, body } = {}) {
  const response = await fetch(url, {
    method,
    headers: json === undefined ? headers : { ...headers, 'Content-Type': 'application/json' },
    body: json === undefined ? body : JSON.stringify(json),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: parsed };
}

/** Throws unless `answer.status` is `expected`. */
export function expectStatus(what, answer, expected) {
  if (answer.status !== expected) {
    throw new Error(
      `${what}: expected ${expected}, got ${answer.status} ${JSON.stringify(answer.body)}`,
    );
  }
  return answer.body;
}

/**
 * Starts billing, filesystem, auth and backend (libs/stack-launcher) with one internal token,
 * on PostgreSQL (`databaseUrl`: billing and auth each in their own schema of it) or on
 * embedded PGlite under `dataDir` (no `databaseUrl`). Returns the launcher's stack
 * (`urls`, `process(name)`, `restart(name)`, `stopAll()`).
 */
export function startStack(group, { token, dataDir, databaseUrl }) {
  return group.launchStack({
    env: { INTERNAL_SERVICE_TOKEN: token, DATA_DIR: dataDir, DATABASE_URL: databaseUrl },
  });
}

/** Registers a user with a fresh invite of `tier`, logs in; `{ userId, email, accessToken }`. */
export async function signUp(stack, token, email, tier) {
  const auth = stack.urls['auth-server'];
  const invite = expectStatus(
    'POST /invites',
    await call(`${auth}/invites`, {
      method: 'POST',
      headers: { 'X-INTERNAL-TOKEN': token },
      json: { tier },
    }),
    201,
  );
  const registered = expectStatus(
    'POST /register',
    await call(`${auth}/register`, {
      method: 'POST',
      json: { email, password: PASSWORD, invite_code: invite.invite_code },
    }),
    201,
  );
  const login = expectStatus(
    'POST /login',
    await call(`${auth}/login`, { method: 'POST', json: { email, password: PASSWORD } }),
    200,
  );
  return { userId: registered.user_id, email, password: PASSWORD, accessToken: login.access_token };
}
