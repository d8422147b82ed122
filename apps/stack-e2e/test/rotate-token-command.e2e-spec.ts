import type { ServiceAudience } from '@zt/contracts';
import { clientSecretVariable } from '@zt/service-utils';
import { requestServiceToken, stackAuthMode } from '@zt/test-kit';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { type NpmStartStack, runScript, signUpNewcomer, startNpmStart } from './npm-start-stack';

const PASSWORD = 'correct horse battery staple';

/**
 * What an operator runs on a local stack: `npm start`, then `npm run rotate-token -- accept`,
 * `send` and `drop` in another shell. Each step edits the scratch env file (STACK_ENV_FILE)
 * and has npm start restart its services one at a time; the script then checks every
 * internal service with both tokens itself. In the mode E2E_INTERNAL_AUTH_MODE names (npm
 * test runs it in token and token+jwt, where the shared token is still required beside each
 * caller's service token).
 */
describe('npm run rotate-token on a running npm start', () => {
  let stack: NpmStartStack;
  let envFile: string;
  let env: NodeJS.ProcessEnv;
  let internalUrls: NpmStartStack['urls'];
  let oldToken: string;
  const mode = stackAuthMode();
  const scriptOutputs: string[] = [];
  const output = () => stack.output();

  const tokens = () => {
    const values = parseEnv(readFileSync(envFile, 'utf8'));
    return {
      send: values['INTERNAL_SERVICE_TOKEN'] ?? '',
      accept: values['INTERNAL_SERVICE_TOKEN_ACCEPT'] ?? '',
    };
  };

  /** In token+jwt, the service token of `clientId` for `audience` (secret from the env file). */
  async function serviceToken(
    clientId: string,
    audience: ServiceAudience,
  ): Promise<Record<string, string>> {
    if (mode === 'token') return {};
    const secret = parseEnv(readFileSync(envFile, 'utf8'))[clientSecretVariable(clientId)] ?? '';
    const answer = await requestServiceToken(
      internalUrls['auth-server'],
      { id: clientId, secret },
      { audience },
    );
    expect(answer.status).toBe(200);
    return { Authorization: `Bearer ${(answer.body as { access_token: string }).access_token}` };
  }

  async function rotate(step: string) {
    const result = await runScript('rotate-token.ts', [step], env);
    scriptOutputs.push(result.output);
    return result;
  }

  /**
   * The statuses billing, auth and filesystem answer to `token` on an internal route, called
   * as the client that may call it (in token+jwt with its service token too).
   */
  async function statuses(token: string): Promise<number[]> {
    const answers = await Promise.all([
      fetch(`${internalUrls['billing-server']}/stats/subscription_count`, {
        headers: {
          ...(await serviceToken('auth-server', 'billing-server')),
          'X-INTERNAL-TOKEN': token,
        },
      }),
      fetch(`${internalUrls['auth-server']}/stats`, {
        headers: { ...(await serviceToken('operator', 'auth-server')), 'X-INTERNAL-TOKEN': token },
      }),
      fetch(`${internalUrls['filesystem-server']}/files`, {
        headers: {
          ...(await serviceToken('backend', 'filesystem-server')),
          'X-INTERNAL-TOKEN': token,
          'X-User-ID': 'rotation-check',
        },
      }),
    ]);
    return answers.map((answer) => answer.status);
  }

  beforeAll(async () => {
    // The short text form a terminal shows, though its output is a pipe here.
    stack = await startNpmStart({ INTERNAL_AUTH_MODE: mode }, ['--text']);
    ({ env, envFile, urls: internalUrls } = stack);
    oldToken = tokens().send;
  }, 300_000);

  afterAll(() => stack?.cleanUp());

  it('refuses to send before a new token is accepted everywhere', async () => {
    const refused = await rotate('send');
    expect(refused.code).toBe(2);
    expect(tokens()).toEqual({ send: oldToken, accept: '' });
  });

  it('accept: adds a new token that every service accepts, while still sending the old', async () => {
    const result = await rotate('accept');
    expect(result).toMatchObject({ code: 0, output: expect.stringContaining('checked') });
    const { send, accept } = tokens();
    expect(send).toBe(oldToken);
    expect(accept).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    expect(await statuses(oldToken)).toEqual([200, 200, 200]);
    expect(await statuses(accept)).toEqual([200, 200, 200]);
    expect(output()).toContain('[start] rolling restart: every service restarted');
  }, 240_000);

  it('send: every service sends the new token and still accepts the old', async () => {
    const newToken = tokens().accept;
    const result = await rotate('send');
    expect(result).toMatchObject({ code: 0, output: expect.stringContaining('checked') });
    expect(tokens()).toEqual({ send: newToken, accept: oldToken });
    expect(await statuses(oldToken)).toEqual([200, 200, 200]);
    expect(await statuses(newToken)).toEqual([200, 200, 200]);
  }, 240_000);

  it('drop: the old token opens nothing any more, and the stack works on the new one', async () => {
    const newToken = tokens().send;
    const result = await rotate('drop');
    expect(result).toMatchObject({ code: 0, output: expect.stringContaining('checked') });
    expect(tokens()).toEqual({ send: newToken, accept: '' });
    expect(await statuses(oldToken)).toEqual([403, 403, 403]);
    expect(await statuses(newToken)).toEqual([200, 200, 200]);

    // A newcomer end to end: auth opens the billing account and the backend reads it, each
    // sending the new token to a billing server that refuses the old one.
    const email = 'rotated@example.com';
    const { registered, accessToken } = await signUpNewcomer(stack, email, PASSWORD);
    expect(registered).toBe(201);
    const me = await fetch(`${internalUrls.backend}/me`, {
      headers: { Authorization: `Bearer ${accessToken}` },
    });
    expect({ status: me.status, body: await me.json() }).toMatchObject({
      status: 200,
      body: { email, tier: 'pro', balance: 5 },
    });
  }, 240_000);

  it('printed the short text form: each service when ready and again after each restart', () => {
    const restarts = output().match(/^\[start\] rolling restart: every service restarted/gm);
    for (const name of ['billing-server', 'auth-server', 'filesystem-server', 'backend']) {
      const ready = new RegExp(
        `^\\[start\\] ${name}\\s+ready at http://127\\.0\\.0\\.1:\\d+$`,
        'gm',
      );
      // At start, then once per rolling restart (accept, send and drop, above).
      expect(output().match(ready)).toHaveLength(1 + (restarts?.length ?? 0));
    }
    // Not the framework's boot lines nor the request lines of the services.
    expect(output()).not.toMatch(
      /Mapped \{|Nest application successfully started|listening on|request completed/,
    );
  });

  it('never printed a token, and npm start still stops cleanly on SIGTERM', async () => {
    const status = await rotate('status');
    expect(status.output).toContain('no rotation in progress');
    const { send } = tokens();
    for (const text of [output(), ...scriptOutputs]) {
      expect(text.includes(oldToken)).toBe(false);
      expect(text.includes(send)).toBe(false);
    }
    stack.child.kill('SIGTERM');
    expect(await stack.exited).toBe(0);
    expect(existsSync(`${envFile}.stack.json`)).toBe(false);
  });
});
