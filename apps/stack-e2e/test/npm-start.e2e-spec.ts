import { workspaceRoot } from '@zt/test-kit';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { type NpmStartStack, runScript, STACK_SERVICES, startNpmStart } from './npm-start-stack';

function portIsClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/**
 * What a newcomer does: `npm start` on a machine with no .env and no database, then the
 * curl matrix against the stack it brought up. Runs the scripts themselves, on free ports,
 * with a scratch .env (STACK_ENV_FILE) and data folder, so a developer's own stay untouched.
 */
describe('npm start, then npm run curl-matrix', () => {
  let stack: NpmStartStack;
  let env: NodeJS.ProcessEnv;
  let envFile: string;
  let ports: readonly number[];
  const output = () => stack.output();

  beforeAll(async () => {
    // The documented defaults, whatever the caller's shell says.
    stack = await startNpmStart({ FILE_WRITE_PRICE: '0.01', ACCESS_TOKEN_TTL_SECONDS: '900' });
    ({ env, envFile, ports } = stack);
  }, 300_000);

  afterAll(() => stack?.cleanUp());

  const token = () => parseEnv(readFileSync(envFile, 'utf8'))['INTERNAL_SERVICE_TOKEN'] ?? '';

  it('generates a strong token into a private .env, and never prints it', () => {
    expect(token()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(readFileSync(envFile, 'utf8')).not.toContain('YOUR_GENERATED');
    expect(output()).toContain('generated INTERNAL_SERVICE_TOKEN');
    expect(output()).not.toContain(token());
  });

  it('prints where each of the four services listens, and a first invite', () => {
    STACK_SERVICES.forEach((service, i) => {
      expect(output()).toMatch(new RegExp(`${service.name}\\s+http://127\\.0\\.0\\.1:${ports[i]}`));
    });
    expect(output()).toMatch(/a first invite \(tier pro, single use\): [A-Za-z0-9_-]{32}\n/);
  });

  it('passes every check of docs/curl-matrix.md', async () => {
    const { code, output: report } = await runScript('curl-matrix.mjs', [], env);
    const checks = (
      readFileSync(join(workspaceRoot(), 'docs', 'curl-matrix.md'), 'utf8').match(
        /```sh\n# expect:/g,
      ) ?? []
    ).length;
    expect(checks).toBeGreaterThan(60);
    expect(report).toContain(`curl-matrix: ${checks} passed, 0 failed`);
    expect(code).toBe(0);
    expect(report).not.toContain(token());
  });

  it('makes more invites with npm run invite, and refuses a tier that does not exist', async () => {
    const made = await runScript('invite.mjs', ['team'], env);
    expect(made).toEqual({ code: 0, output: expect.stringMatching(/^[A-Za-z0-9_-]{32}\n$/) });
    const refused = await runScript('invite.mjs', ['admin'], env);
    expect(refused.code).toBe(2);
  });

  it('stops every service on SIGTERM', async () => {
    stack.child.kill('SIGTERM');
    expect(await stack.exited).toBe(0);
    for (const port of ports) expect(await portIsClosed(port)).toBe(true);
    expect(output()).not.toContain(token());
  });
});
