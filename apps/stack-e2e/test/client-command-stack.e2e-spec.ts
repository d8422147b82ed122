import { requestServiceToken } from '@zt/test-kit';
import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { type NpmStartStack, runScript, signUpNewcomer, startNpmStart } from './npm-start-stack';

const PASSWORD = 'client-rotation-password-1';

/**
 * docs/runbooks/client-rotation.md on a local stack: `npm start` in token+jwt, then
 * `npm run client -- rotate backend` and `promote backend` in another shell. Each has npm
 * start restart its services one at a time (the auth server before the backend), and the
 * backend, which now needs its service tokens for every call, keeps getting them.
 */
describe('npm run client on a running npm start (token+jwt)', () => {
  let stack: NpmStartStack;
  let env: NodeJS.ProcessEnv;
  let envFile: string;
  let urls: NpmStartStack['urls'];
  const scriptOutputs: string[] = [];
  const secrets = new Set<string>();

  const file = () => parseEnv(readFileSync(envFile, 'utf8'));

  async function client(...args: string[]) {
    const run = await runScript('client.ts', args, env);
    scriptOutputs.push(run.output);
    return run;
  }

  /** The token endpoint's status for the backend with `secret` (client_secret_post). */
  async function tokenStatus(secret: string): Promise<number> {
    const answer = await requestServiceToken(
      urls['auth-server'],
      { id: 'backend', secret, method: 'client_secret_post' },
      { audience: 'billing-server' },
    );
    return answer.status;
  }

  /**
   * A newcomer end to end: auth opens the billing account, the backend reads the balance.
   * Retried on 503 for 40 s: right after a rolling restart a callee that restarted before the
   * auth server may have failed to fetch its keys meanwhile and waits out JWKS_COOLDOWN_MS
   * (30 s) before it asks again (`keys_unavailable`). That is availability, not credentials.
   */
  async function newcomerBalance(name: string): Promise<number> {
    const deadline = Date.now() + 40_000;
    for (let attempt = 1; ; attempt += 1) {
      const status = await newcomerOnce(`${name}-${attempt}@example.com`);
      if (status !== 503 || Date.now() > deadline) return status;
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
  }

  async function newcomerOnce(email: string): Promise<number> {
    const { registered, accessToken } = await signUpNewcomer(stack, email, PASSWORD);
    if (registered === 503) return 503;
    expect(registered).toBe(201);
    const me = await fetch(`${urls.backend}/me`, {
      headers: { Authorization: `Bearer ${accessToken}` },
    });
    await me.arrayBuffer();
    return me.status;
  }

  beforeAll(async () => {
    stack = await startNpmStart({ INTERNAL_AUTH_MODE: 'token+jwt' }, ['--text']);
    ({ env, envFile, urls } = stack);
  }, 300_000);

  afterAll(async () => {
    // SIGTERM, as Ctrl-C would stop it: npm start stops its services.
    await stack?.cleanUp();
  }, 60_000);

  it('rotate then promote: both secrets work in between, the old one is refused after, the backend keeps calling billing', async () => {
    const old = file().BACKEND_CLIENT_SECRET ?? '';
    secrets.add(old);

    const rotated = await client('rotate', 'backend');
    expect(rotated.code).toBe(0);
    expect(rotated.output).toContain('every service restarted');
    const next = file().BACKEND_CLIENT_SECRET_NEXT ?? '';
    secrets.add(next);
    expect(next).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await tokenStatus(old)).toBe(200);
    expect(await tokenStatus(next)).toBe(200);
    expect(await newcomerBalance('rotating')).toBe(200);

    const promoted = await client('promote', 'backend');
    expect(promoted.code).toBe(0);
    expect(promoted.output).toContain('every service restarted');
    expect(file().BACKEND_CLIENT_SECRET).toBe(next);
    expect(file().BACKEND_CLIENT_SECRET_NEXT).toBeUndefined();
    expect(await tokenStatus(old)).toBe(401);
    expect(await tokenStatus(next)).toBe(200);
    expect(await newcomerBalance('rotated')).toBe(200);

    // No call was refused for its credentials, no token request was refused, no secret printed.
    const everything = `${stack.output()}${scriptOutputs.join('')}`;
    const refusals = everything
      .split('\n')
      .filter((line) => /internal_auth_denied|service_token_fetch_failed/.test(line))
      // A service down for its restart shows as these reasons: availability, not credentials.
      .filter((line) => !/"reason":"(unreachable|keys_unavailable)"/.test(line));
    expect(refusals).toEqual([]);
    for (const secret of secrets) expect(everything).not.toContain(secret);
  }, 480_000);
});
