// The four built services as processes, wired as `npm start` wires them, for the internal-hop
// and memory scenarios; and small HTTP helpers to set them up as a user would.
import { createServer } from 'node:net';
import { join } from 'node:path';

export const SERVICE_NAMES = ['billing-server', 'auth-server', 'filesystem-server', 'backend'];
const PASSWORD = 'bench password, long enough';

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

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
 * Starts billing, filesystem, auth and backend (in that order, as `npm start` does) with one
 * internal token, on PostgreSQL (`databaseUrl`: billing and auth each in their own schema of
 * it) or on embedded PGlite under `dataDir` (no `databaseUrl`). Returns the processes by name
 * and `restart(name)`, which stops a service and starts it again on the same port and data.
 */
export async function startStack(group, { token, dataDir, databaseUrl, mainOf }) {
  const [billingPort, authPort] = [await freePort(), await freePort()];
  const authUrl = `http://127.0.0.1:${authPort}`;
  const billingUrl = `http://127.0.0.1:${billingPort}`;
  const shared = { INTERNAL_SERVICE_TOKEN: token, DATA_DIR: dataDir, DATABASE_URL: databaseUrl };
  const envs = {
    'billing-server': { ...shared, BILLING_SERVER_PORT: String(billingPort) },
    'filesystem-server': {
      INTERNAL_SERVICE_TOKEN: token,
      DATA_DIR: dataDir,
      FILESYSTEM_SERVER_PORT: '0',
    },
    'auth-server': {
      ...shared,
      AUTH_SERVER_PORT: String(authPort),
      AUTH_SERVER_URL: authUrl,
      BILLING_SERVER_URL: billingUrl,
    },
  };
  const services = {};
  const start = async (name) => {
    services[name] = await group.startServer(name, mainOf(name), { env: envs[name] });
  };
  await Promise.all([start('billing-server'), start('filesystem-server')]);
  await start('auth-server');
  envs.backend = {
    INTERNAL_SERVICE_TOKEN: token,
    DATA_DIR: dataDir,
    BACKEND_PORT: '0',
    AUTH_SERVER_URL: authUrl,
    BILLING_SERVER_URL: billingUrl,
    FILESYSTEM_SERVER_URL: services['filesystem-server'].url,
  };
  await start('backend');
  return {
    services,
    async restart(name) {
      await services[name].stop();
      await start(name);
    },
    async stop() {
      await Promise.all(Object.values(services).map((service) => service.stop()));
    },
  };
}

/** Registers a user with a fresh invite of `tier`, logs in; `{ userId, email, accessToken }`. */
export async function signUp(stack, token, email, tier) {
  const auth = stack.services['auth-server'].url;
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

/** The built `main.js` of a service. */
export function serviceMain(root, name) {
  return join(root, 'dist', 'apps', name, 'main.js');
}
