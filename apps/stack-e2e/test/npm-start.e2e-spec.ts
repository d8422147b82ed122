import { freePort, inheritedProcessEnvironment, workspaceRoot } from '@zt/test-kit';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';

const SERVICES = [
  { name: 'billing-server', port: 'BILLING_SERVER_PORT', url: 'BILLING_SERVER_URL' },
  { name: 'auth-server', port: 'AUTH_SERVER_PORT', url: 'AUTH_SERVER_URL' },
  { name: 'filesystem-server', port: 'FILESYSTEM_SERVER_PORT', url: 'FILESYSTEM_SERVER_URL' },
  { name: 'backend', port: 'BACKEND_PORT', url: 'BACKEND_URL' },
] as const;

/** Runs a script of the workspace to its end; resolves with its exit code and output. */
function runScript(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(workspaceRoot(), 'scripts', script), ...args],
      { cwd: workspaceRoot(), env, timeout: 120_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }),
    );
  });
}

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
  const scratch = mkdtempSync(join(tmpdir(), 'stack-e2e-'));
  const envFile = join(scratch, '.env');
  let env: NodeJS.ProcessEnv;
  let ports: number[];
  let stack: ChildProcess;
  let output = '';
  let exited: Promise<number | null>;

  beforeAll(async () => {
    ports = await Promise.all(SERVICES.map(() => freePort()));
    env = {
      ...inheritedProcessEnvironment(),
      STACK_ENV_FILE: envFile,
      DATA_DIR: join(scratch, 'data'),
      // Embedded storage and the documented defaults, whatever the caller's shell says.
      DATABASE_URL: '',
      FILE_WRITE_PRICE: '0.01',
      ACCESS_TOKEN_TTL_SECONDS: '900',
      ...Object.fromEntries(
        SERVICES.flatMap((service, i) => [
          [service.port, String(ports[i])],
          [service.url, `http://127.0.0.1:${ports[i]}`],
        ]),
      ),
    };
    stack = spawn(process.execPath, [join(workspaceRoot(), 'scripts', 'start.mjs')], {
      cwd: workspaceRoot(),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    exited = new Promise((resolve) => stack.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`stack not up in time:\n${output}`)),
        240_000,
      );
      const onData = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (output.includes('Ctrl-C stops everything')) {
          clearTimeout(timer);
          resolve();
        }
      };
      stack.stdout?.on('data', onData);
      stack.stderr?.on('data', onData);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`npm start exited (code ${code}) before the stack was up:\n${output}`));
      });
    });
  }, 300_000);

  afterAll(async () => {
    if (stack.exitCode === null) stack.kill('SIGKILL');
    rmSync(scratch, { recursive: true, force: true });
  });

  const token = () => parseEnv(readFileSync(envFile, 'utf8'))['INTERNAL_SERVICE_TOKEN'] ?? '';

  it('generates a strong token into a private .env, and never prints it', () => {
    expect(token()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(readFileSync(envFile, 'utf8')).not.toContain('YOUR_GENERATED');
    expect(output).toContain('generated INTERNAL_SERVICE_TOKEN');
    expect(output).not.toContain(token());
  });

  it('prints where each of the four services listens, and a first invite', () => {
    SERVICES.forEach((service, i) => {
      expect(output).toMatch(new RegExp(`${service.name}\\s+http://127\\.0\\.0\\.1:${ports[i]}`));
    });
    expect(output).toMatch(/a first invite \(tier pro, single use\): [A-Za-z0-9_-]{32}\n/);
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
    stack.kill('SIGTERM');
    expect(await exited).toBe(0);
    for (const port of ports) expect(await portIsClosed(port)).toBe(true);
    expect(output).not.toContain(token());
  });
});
