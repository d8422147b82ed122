import { STACK_SERVICES } from '@zt/stack-launcher';
import { requestServiceToken, workspaceRoot } from '@zt/test-kit';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { type ConsoleLine, type NpmStartStack, runScript, startNpmStart } from './npm-start-stack';

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

/** `npm start`'s output read through pino-pretty, as `npm start | npx pino-pretty` shows it. */
function prettyPrinted(lines: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const pretty = execFile(
      join(workspaceRoot(), 'node_modules', '.bin', 'pino-pretty'),
      ['--colorize', 'false'],
      (error, stdout) => (error ? reject(error) : resolve(stdout)),
    );
    pretty.stdin?.end(lines.map((line) => `${line}\n`).join(''));
  });
}

/**
 * What a newcomer does: `npm start` on a machine with no .env and no database, then the
 * curl matrix against the stack it brought up. Runs the scripts themselves, on free ports,
 * with a scratch .env (STACK_ENV_FILE) and data folder, so a developer's own stay untouched.
 * Its output is a pipe, so it writes JSON lines (see the token rotation suite for the text
 * form, `--text`).
 */
describe('npm start, then npm run curl-matrix', () => {
  let stack: NpmStartStack;
  let env: NodeJS.ProcessEnv;
  let envFile: string;
  let ports: NpmStartStack['ports'];
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

  it('generates the metrics token, which opens /metrics on every service and is not the internal token', async () => {
    const file = parseEnv(readFileSync(envFile, 'utf8'));
    const metricsToken = file['METRICS_TOKEN'] ?? '';
    expect(metricsToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(metricsToken).not.toBe(token());
    expect(output()).toContain('METRICS_TOKEN');
    expect(output()).not.toContain(metricsToken);
    for (const port of Object.values(ports)) {
      const scraped = await fetch(`http://127.0.0.1:${port}/metrics`, {
        headers: { Authorization: `Bearer ${metricsToken}` },
      });
      expect(scraped.status).toBe(200);
      await scraped.arrayBuffer();
    }
  });

  it("generates every service client's secret too: the backend gets a service token with its own", async () => {
    const file = parseEnv(readFileSync(envFile, 'utf8'));
    const clients = Object.keys(file).filter((name) => name.endsWith('_CLIENT_SECRET'));
    expect(clients).toEqual(
      expect.arrayContaining(['BACKEND_CLIENT_SECRET', 'AUTH_SERVER_CLIENT_SECRET']),
    );
    for (const name of clients) {
      expect(file[name]).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(output()).not.toContain(file[name]);
    }
    const answer = await requestServiceToken(
      `http://127.0.0.1:${ports['auth-server']}`,
      { id: 'backend', secret: file['BACKEND_CLIENT_SECRET'] ?? '', method: 'client_secret_post' },
      { audience: 'billing-server' },
    );
    expect(answer).toMatchObject({
      status: 200,
      body: { token_type: 'Bearer', scope: 'billing:balance.read billing:charge billing:refund' },
    });
  });

  it('prints one line per service when it is ready, and a first invite, as JSON lines', () => {
    const lines = stack.stdoutLines().map((line) => JSON.parse(line) as ConsoleLine);
    const own = lines.filter((line) => line.service === 'start').map((line) => line.msg);
    for (const service of STACK_SERVICES) {
      const url = `http://127\\.0\\.0\\.1:${ports[service.name]}`;
      expect(
        own.filter((msg) => new RegExp(`^${service.name}\\s+ready at ${url}$`).test(msg ?? '')),
      ).toHaveLength(1);
    }
    expect(own).toContainEqual(
      expect.stringMatching(/^a first invite \(tier pro, single use\): [A-Za-z0-9_-]{32}$/),
    );
    // The short form: no line of the services' own unless a warning or an error (the
    // framework's boot lines, the request lines stay out).
    expect(
      lines.filter(
        (line) => line.service !== 'start' && !['warn', 'error', 'fatal'].includes(line.level),
      ),
    ).toEqual([]);
    expect(own.length).toBeLessThanOrEqual(10);
    for (const line of lines) {
      expect(line).toEqual(
        expect.objectContaining({ level: expect.any(String), time: expect.any(String) }),
      );
    }
  });

  it('reads as pino-pretty prints it', async () => {
    const pretty = await prettyPrinted(stack.stdoutLines());
    expect(pretty).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: billing-server\s+ready at http:/m);
    expect(pretty).toMatch(/INFO: a first invite \(tier pro, single use\): [A-Za-z0-9_-]{32}\n/);
    expect(pretty).not.toContain('{"level"');
  });

  it('passes every check of docs/curl-matrix.md', async () => {
    const { code, output: report } = await runScript('curl-matrix.ts', [], env);
    const checks = (
      readFileSync(join(workspaceRoot(), 'docs', 'curl-matrix.md'), 'utf8').match(
        /```sh\n# expect:/g,
      ) ?? []
    ).length;
    expect(checks).toBeGreaterThan(60);
    expect(report).toContain(`curl-matrix: ${checks} passed, 0 failed`);
    expect(code).toBe(0);
    expect(report).not.toContain(token());
    // 88 checks, each a bash and a curl: 173 s on a busy 2-core machine, past the default 120 s.
  }, 300_000);

  it('makes more invites with npm run invite, and refuses a tier that does not exist', async () => {
    const made = await runScript('invite.ts', ['team'], env);
    expect(made).toMatchObject({
      code: 0,
      output: expect.stringMatching(/^[A-Za-z0-9_-]{32}\n$/),
    });
    const refused = await runScript('invite.ts', ['admin'], env);
    expect(refused.code).toBe(2);
  });

  it('stops every service on SIGTERM', async () => {
    stack.child.kill('SIGTERM');
    expect(await stack.exited).toBe(0);
    for (const port of Object.values(ports)) expect(await portIsClosed(port)).toBe(true);
    expect(output()).not.toContain(token());
  });
});

/**
 * The same newcomer's path with service identity switched on: `INTERNAL_AUTH_MODE=token+jwt`
 * for every service, so each call between them carries the caller's service token, then the
 * identity mode's curl matrix (docs/curl-matrix-identity.md) and an invite made with the
 * operator's client.
 */
describe('npm start with INTERNAL_AUTH_MODE=token+jwt, then the identity curl matrix', () => {
  let stack: NpmStartStack;
  const secrets = () =>
    Object.entries(parseEnv(readFileSync(stack.envFile, 'utf8')))
      .filter(([name, value]) => /(_TOKEN|_SECRET|_SECRET_NEXT|PASSWORD)$/.test(name) && value)
      .map(([, value]) => value as string);

  beforeAll(async () => {
    stack = await startNpmStart({ INTERNAL_AUTH_MODE: 'token+jwt', FILE_WRITE_PRICE: '0.01' });
  }, 300_000);

  afterAll(() => stack?.cleanUp());

  it('passes every check of docs/curl-matrix-identity.md, and prints no secret', async () => {
    const { code, output: report } = await runScript(
      'curl-matrix.ts',
      [join('docs', 'curl-matrix-identity.md')],
      stack.env,
    );
    const checks = (
      readFileSync(join(workspaceRoot(), 'docs', 'curl-matrix-identity.md'), 'utf8').match(
        /```sh\n# expect:/g,
      ) ?? []
    ).length;
    expect(checks).toBeGreaterThan(25);
    expect(report).toContain(`curl-matrix: ${checks} passed, 0 failed`);
    expect(code).toBe(0);
    expect(secrets().length).toBeGreaterThan(5);
    for (const secret of secrets()) {
      expect(report).not.toContain(secret);
      expect(stack.output()).not.toContain(secret);
    }
  });

  it('passes every check of docs/any-language.md (discovery, tokens, JWKS, local verification, introspection)', async () => {
    const { code, output: report } = await runScript(
      'curl-matrix.ts',
      [join('docs', 'any-language.md')],
      stack.env,
    );
    const checks = (
      readFileSync(join(workspaceRoot(), 'docs', 'any-language.md'), 'utf8').match(
        /```sh\n# expect:/g,
      ) ?? []
    ).length;
    expect(checks).toBeGreaterThan(10);
    expect(report).toContain(`curl-matrix: ${checks} passed, 0 failed`);
    expect(code).toBe(0);
    for (const secret of secrets()) expect(report).not.toContain(secret);
  });

  it("makes invites with the operator's service token", async () => {
    const made = await runScript('invite.ts', ['team'], stack.env);
    expect(made).toMatchObject({ code: 0, stdout: expect.stringMatching(/^[A-Za-z0-9_-]{32}\n$/) });
    // Without the operator's secret, in this mode, it says which variable is missing.
    const refused = await runScript('invite.ts', ['team'], {
      ...stack.env,
      OPERATOR_CLIENT_SECRET: '',
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('OPERATOR_CLIENT_SECRET is required');
  });
});
