import { launchStack, type ServiceStack, startService } from '@zt/stack-launcher';
import {
  generateToken,
  inheritedProcessEnvironment,
  registerUser,
  request,
  scratchDatabaseFor,
  type ServiceProcess,
  TEST_PASSWORD as PASSWORD,
  testBackends,
} from '@zt/test-kit';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const NEW_PASSWORD = 'another long passphrase';
/** How often the second backend reads the revocation feed. */
const POLL_MS = 200;

/**
 * Logout and password change, through the backend, with billing, auth and two backends as
 * processes: the backend that ends a session refuses its token at once, the other one within
 * a few polls of the revocation feed.
 */
describe.each(testBackends())('ending sessions through the backend, on %s', (backend) => {
  const internalToken = generateToken();
  const dataDir = mkdtempSync(join(tmpdir(), 'sessions-e2e-'));
  let stack: ServiceStack;
  let api: ServiceProcess;
  let otherApi: ServiceProcess;
  let drop: () => Promise<void> = async () => undefined;

  beforeAll(async () => {
    const scratch = await scratchDatabaseFor(backend);
    drop = scratch.drop;
    stack = await launchStack({
      services: ['billing-server', 'auth-server', 'backend'],
      env: {
        ...inheritedProcessEnvironment(),
        INTERNAL_SERVICE_TOKEN: internalToken,
        DATA_DIR: dataDir,
        DATABASE_URL: scratch.url,
      },
      serviceEnv: { backend: { REVOCATION_POLL_MS: String(POLL_MS) } },
      // No filesystem: nothing here stores a file.
      urls: { 'filesystem-server': 'http://127.0.0.1:9' },
    });
    api = stack.process('backend');
    // A second backend beside the first, wired the same way.
    otherApi = await startService('backend', {
      env: stack.environment('backend'),
      urls: stack.urls,
    });
  });

  afterAll(async () => {
    await otherApi?.stop();
    await stack?.stopAll();
    await drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const authUrl = () => stack.urls['auth-server'] ?? '';

  async function signUp(email: string): Promise<string> {
    return (
      await registerUser(authUrl(), { 'X-INTERNAL-TOKEN': internalToken }, { tier: 'free', email })
    ).accessToken;
  }

  async function signIn(email: string, password = PASSWORD): Promise<string> {
    const login = await request(`${authUrl()}/login`, {
      method: 'POST',
      json: { email, password },
    });
    expect(login.status).toBe(200);
    return (login.body as { access_token: string }).access_token;
  }

  const me = (service: ServiceProcess, token: string) =>
    request(`${service.url}/me`, { headers: { Authorization: `Bearer ${token}` } });
  const post = (path: string, token: string, json?: unknown) =>
    request(`${api.url}${path}`, {
      method: 'POST',
      json,
      headers: { Authorization: `Bearer ${token}` },
    });
  /** Milliseconds until `service` refuses `token` (polled), or fails after 5 s. */
  async function untilRefused(service: ServiceProcess, token: string): Promise<number> {
    const started = performance.now();
    for (;;) {
      const answer = await me(service, token);
      if (answer.status === 401) return performance.now() - started;
      expect(answer.status).toBe(200);
      if (performance.now() - started > 5000) throw new Error('the token is still accepted');
      await sleep(20);
    }
  }

  it('ends this session only: refused at once here, within seconds on another backend', async () => {
    const session = await signUp('leaving@example.com');
    const other = await signIn('leaving@example.com');
    expect((await me(api, session)).status).toBe(200);
    expect((await me(otherApi, session)).status).toBe(200);

    expect(await post('/me/logout', session)).toMatchObject({ status: 204 });
    expect(await me(api, session)).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
    const elsewhereMs = await untilRefused(otherApi, session);
    console.log(
      `[${backend}] logout honoured by another backend after ${elsewhereMs.toFixed(0)} ms`,
    );
    expect(elsewhereMs).toBeLessThan(5000);

    // The user's other session goes on, on both backends.
    expect((await me(api, other)).status).toBe(200);
    expect((await me(otherApi, other)).status).toBe(200);
    // A logged-out token cannot log out again, nor do anything else.
    expect(await post('/me/logout', session)).toMatchObject({ status: 401 });
  });

  it('changes the password only with the current one, then ends every session of the user', async () => {
    const first = await signUp('moving@example.com');
    const second = await signIn('moving@example.com');
    const bystander = await signUp('bystander@example.com');

    expect(
      await post('/me/password', first, {
        current_password: 'not my password',
        new_password: NEW_PASSWORD,
      }),
    ).toMatchObject({ status: 403, body: { error: 'invalid credentials' } });
    expect(
      await post('/me/password', first, { current_password: PASSWORD, new_password: 'short' }),
    ).toMatchObject({ status: 400 });
    expect(await post('/me/password', first, { current_password: PASSWORD })).toMatchObject({
      status: 400,
    });
    expect((await me(api, second)).status).toBe(200);

    expect(
      await post('/me/password', first, { current_password: PASSWORD, new_password: NEW_PASSWORD }),
    ).toMatchObject({ status: 204 });
    // Here at once, for every session of the user; on the other backend within seconds.
    expect((await me(api, first)).status).toBe(401);
    expect((await me(api, second)).status).toBe(401);
    await untilRefused(otherApi, second);
    expect((await me(api, bystander)).status).toBe(200);

    const fresh = await signIn('moving@example.com', NEW_PASSWORD);
    expect((await me(api, fresh)).status).toBe(200);
    expect((await me(otherApi, fresh)).status).toBe(200);
    expect(
      await request(`${authUrl()}/login`, {
        method: 'POST',
        json: { email: 'moving@example.com', password: PASSWORD },
      }),
    ).toMatchObject({ status: 401 });
  });

  it('keeps internal headers a client sends out of the call to the auth server', async () => {
    const token = await signUp('spoofer@example.com');
    const victim = await signUp('victim@example.com');
    const victimId = JSON.parse(Buffer.from(victim.split('.')[1], 'base64url').toString())
      .sub as string;
    const answer = await request(`${api.url}/me/logout`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${token}`,
        'X-INTERNAL-TOKEN': internalToken,
        'X-User-ID': victimId,
      },
    });
    expect(answer.status).toBe(204);
    // Only the caller's own session ended.
    expect((await me(api, token)).status).toBe(401);
    expect((await me(api, victim)).status).toBe(200);
  });
});
