import { SERVICE_CLIENTS } from '@zt/contracts';
import { workspaceRoot } from '@zt/test-kit';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { runScript, type ScriptRun } from './npm-start-stack';

/**
 * `npm run client -- <rotate|promote|revoke|add> <client-id>` (scripts/client.ts) on a scratch
 * env file (STACK_ENV_FILE): what each subcommand leaves in the file, what it refuses, and
 * that no secret ever reaches its output. No stack runs: the file is the whole effect (and
 * docs/runbooks/client-rotation.md says what to restart).
 */
describe('npm run client', () => {
  let folder: string;
  let envFile: string;
  let env: NodeJS.ProcessEnv;
  /** Every secret the file has held in this test: none may ever be printed. */
  let seen: Set<string>;

  const secret = () => randomBytes(32).toString('base64url');
  const file = () => parseEnv(readFileSync(envFile, 'utf8'));

  /** Runs the command, then checks that its output holds no secret the file held before or after. */
  async function client(...args: string[]): Promise<ScriptRun> {
    for (const value of Object.values(file())) if (value && value.length >= 32) seen.add(value);
    const run = await runScript('client.ts', args, env, 60_000);
    for (const value of Object.values(file())) if (value && value.length >= 32) seen.add(value);
    for (const value of seen) expect(run.output).not.toContain(value);
    return run;
  }

  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'client-command-'));
    envFile = join(folder, '.env');
    // A file as npm start writes it: every client of the policy with a secret, and the example's
    // other lines around them.
    const secrets = SERVICE_CLIENTS.map(
      ({ clientId }) => `${clientId.toUpperCase().replaceAll('-', '_')}_CLIENT_SECRET=${secret()}`,
    );
    writeFileSync(
      envFile,
      `# scratch\nINTERNAL_SERVICE_TOKEN=${secret()}\nINTERNAL_AUTH_MODE=token+jwt\n${secrets.join('\n')}\nHOST=127.0.0.1\n`,
      { mode: 0o600 },
    );
    seen = new Set();
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.endsWith('_CLIENT_SECRET')),
    );
    env = {
      ...inherited,
      STACK_ENV_FILE: envFile,
      TSX_TSCONFIG_PATH: join(workspaceRoot(), 'tsconfig.base.json'),
    };
  });

  afterEach(() => rmSync(folder, { recursive: true, force: true }));

  it('rotate writes a fresh BACKEND_CLIENT_SECRET_NEXT beside the current one, and says what to restart', async () => {
    const before = file();
    const run = await client('rotate', 'backend');
    expect(run.code).toBe(0);
    const after = file();
    expect(after.BACKEND_CLIENT_SECRET).toBe(before.BACKEND_CLIENT_SECRET);
    expect(after.BACKEND_CLIENT_SECRET_NEXT).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(after.BACKEND_CLIENT_SECRET_NEXT).not.toBe(before.BACKEND_CLIENT_SECRET);
    // Every other line is kept as it was.
    for (const [name, value] of Object.entries(before)) expect(after[name]).toBe(value);
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    expect(run.stdout).toContain('restart auth-server first');
    expect(run.stdout).toContain('npm run client -- promote backend');
    expect(run.stdout).toContain('npm start: not running');
  });

  it('rotate refuses a second rotation while one is in progress, and leaves the file alone', async () => {
    expect((await client('rotate', 'backend')).code).toBe(0);
    const text = readFileSync(envFile, 'utf8');
    const again = await client('rotate', 'backend');
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('BACKEND_CLIENT_SECRET_NEXT is already set');
    expect(readFileSync(envFile, 'utf8')).toBe(text);
  });

  it('promote moves the next secret into the current one and removes _NEXT', async () => {
    expect((await client('rotate', 'billing-server')).code).toBe(0);
    const next = file().BILLING_SERVER_CLIENT_SECRET_NEXT;
    const run = await client('promote', 'billing-server');
    expect(run.code).toBe(0);
    expect(file().BILLING_SERVER_CLIENT_SECRET).toBe(next);
    expect(readFileSync(envFile, 'utf8')).not.toMatch(/^BILLING_SERVER_CLIENT_SECRET_NEXT=/m);
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    expect(run.stdout).toContain('restart auth-server');
  });

  it('promote refuses without a next secret', async () => {
    const text = readFileSync(envFile, 'utf8');
    const run = await client('promote', 'backend');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('BACKEND_CLIENT_SECRET_NEXT is not set');
    expect(readFileSync(envFile, 'utf8')).toBe(text);
  });

  it('revoke empties both secrets, and npm start does not generate them again', async () => {
    expect((await client('rotate', 'metrics-scraper')).code).toBe(0);
    const run = await client('revoke', 'metrics-scraper');
    expect(run.code).toBe(0);
    expect(file().METRICS_SCRAPER_CLIENT_SECRET).toBe('');
    expect(file().METRICS_SCRAPER_CLIENT_SECRET_NEXT).toBe('');
    expect(run.stdout).toContain('401 invalid_client');
    expect(run.stdout).toContain('valid until their exp');
    expect(statSync(envFile).mode & 0o777).toBe(0o600);

    // What npm start does to the file before it starts anything (ensureEnvFile).
    const generated = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        [
          '--import',
          'tsx',
          '--eval',
          "import('./scripts/stack.ts').then((m) => console.log(JSON.stringify((m.ensureEnvFile ?? m.default.ensureEnvFile)())))",
        ],
        { cwd: workspaceRoot(), env },
        (error, stdout) => (error ? reject(error) : resolve(stdout)),
      ),
    );
    expect(JSON.parse(generated)).not.toContain('METRICS_SCRAPER_CLIENT_SECRET');
    expect(file().METRICS_SCRAPER_CLIENT_SECRET).toBe('');

    // Revoking twice says so.
    const again = await client('revoke', 'metrics-scraper');
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already revoked');
  });

  it('add gives a client of the policy that has no secret in the file a fresh one, once', async () => {
    const text = readFileSync(envFile, 'utf8').replace(/^OPERATOR_CLIENT_SECRET=.*\n/m, '');
    writeFileSync(envFile, text);
    const run = await client('add', 'operator');
    expect(run.code).toBe(0);
    expect(file().OPERATOR_CLIENT_SECRET).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(run.stdout).toContain('SERVICE_CLIENTS (libs/contracts)');
    expect(run.stdout).toContain('edits no code');
    expect(statSync(envFile).mode & 0o777).toBe(0o600);

    const again = await client('add', 'operator');
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already has a secret');
  });

  it('add restores a revoked client with a fresh secret', async () => {
    const before = file().BACKEND_CLIENT_SECRET;
    expect((await client('revoke', 'backend')).code).toBe(0);
    expect((await client('add', 'backend')).code).toBe(0);
    expect(file().BACKEND_CLIENT_SECRET).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(file().BACKEND_CLIENT_SECRET).not.toBe(before);
    expect(readFileSync(envFile, 'utf8')).not.toContain('# revoked');
  });

  it('refuses a client id that is not in SERVICE_CLIENTS, and leaves the file alone', async () => {
    const text = readFileSync(envFile, 'utf8');
    for (const command of ['rotate', 'promote', 'revoke', 'add']) {
      const run = await client(command, 'payments');
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('unknown client "payments"');
      expect(run.stderr).toContain('SERVICE_CLIENTS');
    }
    expect(readFileSync(envFile, 'utf8')).toBe(text);
  });

  it('refuses an unknown subcommand or a missing client id with its usage', async () => {
    for (const args of [['renew', 'backend'], ['rotate'], []]) {
      const run = await client(...args);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('usage: npm run client');
    }
  });

  it('says whether npm start runs on the file (its state file), without restarting under --no-restart', async () => {
    // A state file naming a live process (this one) is a running stack; --no-restart sends no signal.
    writeFileSync(
      `${envFile}.stack.json`,
      JSON.stringify({
        pid: process.pid,
        envFile,
        restarts: 0,
        lastRestart: null,
        services: {},
      }),
    );
    const run = await client('rotate', 'backend', '--no-restart');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `npm start: running (pid ${process.pid}) with the previous secrets`,
    );
    expect(run.stdout).toContain('npm run rotate-token -- restart');
  });

  it('the scripts run it as npm run client', () => {
    const scripts = JSON.parse(readFileSync(join(workspaceRoot(), 'package.json'), 'utf8')).scripts;
    expect(scripts.client).toContain('scripts/client.ts');
  });
});
