import {
  builtServiceMain,
  freePort,
  generateToken,
  inheritedProcessEnvironment,
  request,
  runServiceToExit,
  type ServiceProcess,
  startServiceProcess,
  workspaceRoot,
} from '@zt/test-kit';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PASSWORD = 'standalone services read their .env';

/** The four services, in start order, with the variables that place them. */
const SERVICES = [
  { app: 'billing-server', portVariable: 'BILLING_SERVER_PORT', urlVariable: 'BILLING_SERVER_URL' },
  { app: 'auth-server', portVariable: 'AUTH_SERVER_PORT', urlVariable: 'AUTH_SERVER_URL' },
  {
    app: 'filesystem-server',
    portVariable: 'FILESYSTEM_SERVER_PORT',
    urlVariable: 'FILESYSTEM_SERVER_URL',
  },
  { app: 'backend', portVariable: 'BACKEND_PORT', urlVariable: undefined },
] as const;
type App = (typeof SERVICES)[number]['app'];

/**
 * `.env.example` as `npm start` turns it into `.env`: the same file, with a generated token,
 * and here free ports (and the URLs that follow them) so that it runs beside anything else.
 * `DATA_DIR` stays `./data`: relative to the working directory the services start in.
 */
async function envFileFromExample(
  token: string,
  metricsToken: string,
): Promise<{ text: string; ports: Map<App, number> }> {
  let text = readFileSync(join(workspaceRoot(), '.env.example'), 'utf8');
  const set = (name: string, value: string) => {
    const line = new RegExp(`^${name}=.*$`, 'm');
    if (!line.test(text)) throw new Error(`.env.example has no ${name}= line`);
    text = text.replace(line, `${name}=${value}`);
  };
  set('INTERNAL_SERVICE_TOKEN', token);
  set('METRICS_TOKEN', metricsToken);
  set('DATA_DIR', './data');
  const ports = new Map<App, number>();
  for (const service of SERVICES) {
    const port = await freePort();
    ports.set(service.app, port);
    set(service.portVariable, String(port));
    if (service.urlVariable) set(service.urlVariable, `http://127.0.0.1:${port}`);
  }
  return { text, ports };
}

/**
 * Issue 12: each service reads `.env` itself, so `node dist/apps/<app>/main.js` started alone
 * runs with the configuration `npm start` gives it. Here every built service is started with
 * nothing in its environment but PATH and the like (none of the stack's variables), in a
 * working directory that holds a `.env`.
 */
describe('every service starts standalone from .env in its working directory', () => {
  const token = generateToken();
  const metricsToken = generateToken();
  const workingDirectory = mkdtempSync(join(tmpdir(), 'standalone-env-'));
  const services = new Map<App, ServiceProcess>();
  let ports: Map<App, number>;
  const url = (app: App) => `http://127.0.0.1:${ports.get(app)}`;

  beforeAll(async () => {
    const envFile = await envFileFromExample(token, metricsToken);
    ports = envFile.ports;
    writeFileSync(join(workingDirectory, '.env'), envFile.text, { mode: 0o600 });
    // The point of the test: nothing the services need comes from the environment.
    expect(Object.keys(inheritedProcessEnvironment())).not.toContain('INTERNAL_SERVICE_TOKEN');

    const start = (app: App) =>
      startServiceProcess({ main: builtServiceMain(app), env: {}, cwd: workingDirectory }).then(
        (service) => services.set(app, service),
      );
    await Promise.all([start('billing-server'), start('filesystem-server')]);
    await Promise.all([start('auth-server'), start('backend')]);
  }, 180_000);

  afterAll(async () => {
    await Promise.all([...services.values()].map((service) => service.stop()));
    rmSync(workingDirectory, { recursive: true, force: true });
  });

  it.each(SERVICES.map((service) => service.app))(
    '%s listens on the port .env gives it and is ready',
    async (app) => {
      expect(services.get(app)?.url).toBe(url(app));
      const ready = await request(`${url(app)}/health/ready`);
      expect(ready).toMatchObject({ status: 200, body: { status: 'ok' } });
    },
  );

  it('keeps its state under the DATA_DIR of .env, relative to the working directory', () => {
    for (const app of ['billing-server', 'auth-server', 'filesystem-server']) {
      expect({ app, exists: existsSync(join(workingDirectory, 'data', app)) }).toEqual({
        app,
        exists: true,
      });
    }
  });

  it.each(SERVICES.map((service) => service.app))(
    '%s serves /metrics to the metrics token of .env, and to no other credential',
    async (app) => {
      const withToken = await request(`${url(app)}/metrics`, {
        headers: { Authorization: `Bearer ${metricsToken}` },
      });
      expect(withToken.status).toBe(200);
      expect(String(withToken.body)).toContain(`service="${app}"`);
      const others: Array<Record<string, string>> = [
        { Authorization: `Bearer ${generateToken()}` },
        { 'X-INTERNAL-TOKEN': token },
      ];
      for (const headers of others) {
        const refused = await request(`${url(app)}/metrics`, { headers });
        expect(refused).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
      }
    },
  );

  it('finds the other services through the URLs of .env: register, log in, /me, a metered write', async () => {
    const invite = await request(`${url('auth-server')}/invites`, {
      method: 'POST',
      headers: { 'X-INTERNAL-TOKEN': token },
      json: { tier: 'pro' },
    });
    expect(invite.status).toBe(201);
    // auth -> billing (BILLING_SERVER_URL, the token): the account is opened there.
    const registered = await request(`${url('auth-server')}/register`, {
      method: 'POST',
      json: {
        email: 'standalone@example.com',
        password: PASSWORD,
        invite_code: (invite.body as { invite_code: string }).invite_code,
      },
    });
    expect(registered.status).toBe(201);
    const login = await request(`${url('auth-server')}/login`, {
      method: 'POST',
      json: { email: 'standalone@example.com', password: PASSWORD },
    });
    expect(login.status).toBe(200);
    const bearer = {
      Authorization: `Bearer ${(login.body as { access_token: string }).access_token}`,
    };

    // backend -> auth (AUTH_SERVER_URL: the JWKS and the expected issuer) and -> billing.
    const me = await request(`${url('backend')}/me`, { headers: bearer });
    expect(me).toMatchObject({
      status: 200,
      body: { email: 'standalone@example.com', tier: 'pro', balance: 5 },
    });
    // backend -> billing and filesystem (FILESYSTEM_SERVER_URL), with the token.
    const write = await request(`${url('backend')}/me/files/notes/standalone.txt`, {
      method: 'PUT',
      headers: bearer,
      body: 'configured by .env alone',
    });
    expect(write).toMatchObject({
      status: 201,
      body: { path: 'notes/standalone.txt', charged: 0.01, balance: 4.99 },
    });
  });
});

/** How `.env` meets the environment, with the filesystem server (no database: quick to start). */
describe('a service reading its env file: precedence, ENV_FILE, refusals', () => {
  const folders: string[] = [];
  const scratchFolder = () => {
    const folder = mkdtempSync(join(tmpdir(), 'env-file-'));
    folders.push(folder);
    return folder;
  };
  const main = () => builtServiceMain('filesystem-server');
  // An internal route of the filesystem server: 200 with the token it loaded, 403 otherwise.
  const internalStatus = async (service: ServiceProcess, token: string) =>
    (
      await request(`${service.url}/files`, {
        headers: { 'X-INTERNAL-TOKEN': token, 'X-User-ID': 'env-file-user' },
      })
    ).status;
  /** Starts the filesystem server in `cwd` with `env`, runs `check` on it, stops it. */
  const withFilesystemServer = async (
    cwd: string,
    env: Record<string, string>,
    check: (service: ServiceProcess) => Promise<void>,
  ) => {
    const service = await startServiceProcess({ main: main(), cwd, env });
    try {
      await check(service);
    } finally {
      await service.stop();
    }
  };

  afterAll(() => folders.forEach((folder) => rmSync(folder, { recursive: true, force: true })));

  it('lets a variable of the real environment win over .env', async () => {
    const folder = scratchFolder();
    const [fileToken, environmentToken] = [generateToken(), generateToken()];
    const filePort = await freePort();
    writeFileSync(
      join(folder, '.env'),
      `INTERNAL_SERVICE_TOKEN=${fileToken}\nFILESYSTEM_SERVER_PORT=${filePort}\nDATA_DIR=./data\n`,
    );
    const environment = { INTERNAL_SERVICE_TOKEN: environmentToken, FILESYSTEM_SERVER_PORT: '0' };
    await withFilesystemServer(folder, environment, async (service) => {
      expect(new URL(service.url).port).not.toBe(String(filePort));
      expect(await internalStatus(service, environmentToken)).toBe(200);
      expect(await internalStatus(service, fileToken)).toBe(403);
      // What the environment does not set still comes from .env.
      expect(existsSync(join(folder, 'data', 'filesystem-server'))).toBe(true);
    });
  });

  it('reads the file ENV_FILE names instead of .env', async () => {
    const folder = scratchFolder();
    const token = generateToken();
    mkdirSync(join(folder, 'config'));
    writeFileSync(join(folder, '.env'), `INTERNAL_SERVICE_TOKEN=${generateToken()}\n`);
    writeFileSync(
      join(folder, 'config', 'filesystem.env'),
      `INTERNAL_SERVICE_TOKEN=${token}\nFILESYSTEM_SERVER_PORT=0\nDATA_DIR=${join(folder, 'state')}\n`,
    );
    await withFilesystemServer(folder, { ENV_FILE: 'config/filesystem.env' }, async (service) => {
      expect(await internalStatus(service, token)).toBe(200);
      expect(existsSync(join(folder, 'state', 'filesystem-server'))).toBe(true);
    });
  });

  it('starts without any env file when the environment has what it needs (a container)', async () => {
    const folder = scratchFolder();
    const token = generateToken();
    const environment = { INTERNAL_SERVICE_TOKEN: token, FILESYSTEM_SERVER_PORT: '0' };
    await withFilesystemServer(folder, environment, async (service) => {
      expect(await internalStatus(service, token)).toBe(200);
      expect(existsSync(join(folder, 'data', 'filesystem-server'))).toBe(true);
    });
  });

  it.each(SERVICES.map((service) => service.app))(
    '%s refuses .env copied from .env.example unfilled: exit 1, one line naming the variable',
    async (app) => {
      const folder = scratchFolder();
      writeFileSync(
        join(folder, '.env'),
        readFileSync(join(workspaceRoot(), '.env.example'), 'utf8').replace(
          /^(BILLING_SERVER_PORT|AUTH_SERVER_PORT|FILESYSTEM_SERVER_PORT|BACKEND_PORT)=.*$/gm,
          '$1=0',
        ),
      );
      const result = await runServiceToExit({ main: builtServiceMain(app), cwd: folder, env: {} });
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/^configuration error: INTERNAL_SERVICE_TOKEN is a placeholder/),
      ]);
      expect(result.stdout).not.toContain('listening');
    },
  );

  it('refuses an ENV_FILE that names no file: exit 1, one line naming ENV_FILE', async () => {
    const folder = scratchFolder();
    writeFileSync(
      join(folder, '.env'),
      `INTERNAL_SERVICE_TOKEN=${generateToken()}\nFILESYSTEM_SERVER_PORT=0\n`,
    );
    const result = await runServiceToExit({
      main: main(),
      cwd: folder,
      env: { ENV_FILE: 'production.env' },
    });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      'configuration error: ENV_FILE names a file that does not exist',
    );
  });
});
