import {
  inheritedProcessEnvironment,
  registerUser,
  request,
  runningInCi,
  type TestUser,
  workspaceRoot,
} from '@zt/test-kit';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  COMPOSE_SERVICES,
  type ComposeService,
  type ComposeStack,
  composeUnavailableReason,
  startComposeStack,
} from './compose-stack';
import { runScript } from './npm-start-stack';

const unavailable = composeUnavailableReason();
const inCi = runningInCi();
if (unavailable && !inCi) {
  // One line in `npm test`'s output: the suite did not run (Jest reports it as skipped).
  process.stderr.write(
    `\ncompose suite NOT RUN: ${unavailable}. To run it: see README, "With Docker".\n\n`,
  );
}
const describeWithEngine = unavailable && !inCi ? describe.skip : describe;

/** The compose services that run our code (all but PostgreSQL). */
const NODE_SERVICES = ['billing-server', 'auth-server', 'filesystem-server', 'backend'] as const;

/**
 * `docker compose up --build` as an operator runs it, driven through testcontainers, in the
 * default `token` mode, then in `token+jwt`, then on Fastify: every image builds and starts,
 * every health check passes, the mode's curl matrix holds against the containers, money lands
 * in the containers' PostgreSQL, an outage is answered fast and heals by itself, no secret
 * reaches a container's log, and `down` leaves nothing.
 */
describeWithEngine('docker compose up (the containerised stack)', () => {
  let stack: ComposeStack;

  beforeAll(async () => {
    if (unavailable) throw new Error(`CI must run the compose suite, but ${unavailable}`);
    stack = await startComposeStack();
  }, 1_200_000);

  afterAll(() => downLeavingNothing(stack), 120_000);

  it('runs PostgreSQL and the four services, each healthy by its own check', () => {
    expectEveryContainerHealthy(stack);
    expectEveryServiceOn(stack, 'express');
  });

  it('passes every check of docs/curl-matrix.md against the containers', async () => {
    await expectCurlMatrixPasses(stack, 'curl-matrix.md');
    // 88 checks since /metrics took its own credential: 173 s were seen under load (npm-start).
  }, 300_000);

  it('registers, logs in and charges one metered write in the containers’ PostgreSQL', async () => {
    await expectOneMeteredWriteCharged(stack);
  });

  it('answers 503 billing unavailable at once while billing is stopped, and heals when it is back', async () => {
    const { accessToken } = await signUp(stack, 'pro');
    const me = () =>
      request(`${stack.urls.backend}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(await me()).toMatchObject({ status: 200, body: { balance: 5 } });

    await stack.stopService('billing-server');
    try {
      const elapsed: number[] = [];
      for (let i = 0; i < 8; i += 1) {
        const started = performance.now();
        const answer = await me();
        elapsed.push(Math.round(performance.now() - started));
        expect(answer).toMatchObject({ status: 503, body: { error: 'billing unavailable' } });
      }
      console.log(`compose: billing stopped, 503 answer times in ms: ${elapsed.join(', ')}`);
      // Never the client's whole deadline (INTERNAL_HTTP_TIMEOUT_MS, 3 s): no hanging.
      expect(Math.max(...elapsed.slice(-4))).toBeLessThan(3000);
    } finally {
      await stack.startService('billing-server');
    }
    expect(await eventually(me, (answer) => answer.status === 200)).toMatchObject({
      status: 200,
      body: { balance: 5 },
    });
  }, 180_000);

  it('restarts a crashed service by its restart policy, and the backend recovers', async () => {
    const { accessToken } = await signUp(stack, 'team');
    const me = () =>
      request(`${stack.urls.backend}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
    const billing = stack.containerId('billing-server');
    const restarts = () =>
      Number(stack.docker(['inspect', '--format', '{{.RestartCount}}', billing]));
    const before = restarts();

    // A crash, not an operator's stop (which the policy respects): SIGKILL to its process.
    // Sent by a throw-away container in the host's process namespace (its own image, as
    // root, whose CAP_KILL suffices), so this works whoever runs the test; inside the
    // container, PID 1 would ignore it.
    const pid = Number(stack.docker(['inspect', '--format', '{{.State.Pid}}', billing]));
    expect(pid).toBeGreaterThan(1);
    const image = stack.docker(['inspect', '--format', '{{.Image}}', billing]);
    stack.docker([
      ...['run', '--rm', '--pid=host', '--user=0', '--entrypoint=sh'],
      ...[image, '-c', `kill -KILL ${pid}`],
    ]);

    await eventually(
      async () => restarts(),
      (count) => count > before,
    );
    expect(await eventually(me, (answer) => answer.status === 200)).toMatchObject({
      status: 200,
      body: { balance: 25 },
    });
    expect(restarts()).toBe(before + 1);
  }, 180_000);

  it('writes neither the internal token nor the database password into any container log', async () => {
    // Traffic that carries the token: an accepted internal call and a refused one.
    const token = stack.env['INTERNAL_SERVICE_TOKEN'];
    expect(
      await request(`${stack.urls['billing-server']}/stats/subscription_count`, {
        headers: { 'x-internal-token': token },
      }),
    ).toMatchObject({ status: 200 });
    expect(
      await request(`${stack.urls['billing-server']}/stats/subscription_count`, {
        headers: { 'x-internal-token': `${token}x` },
      }),
    ).toMatchObject({ status: 403 });

    expectNoSecretInLogs(stack, [token, stack.env['POSTGRES_PASSWORD']]);
  });
});

/**
 * The same containers with service identity switched on, as docs/migration-guide.md's third
 * step has an operator do it: `INTERNAL_AUTH_MODE=token+jwt` in `.env`. Every call between the
 * containers then carries the caller's service token, fetched from the auth-server container
 * over the compose network and verified against its JWKS.
 */
describeWithEngine('docker compose up with INTERNAL_AUTH_MODE=token+jwt', () => {
  let stack: ComposeStack;

  beforeAll(async () => {
    if (unavailable) throw new Error(`CI must run the compose suite, but ${unavailable}`);
    stack = await startComposeStack('token+jwt');
  }, 1_200_000);

  afterAll(() => downLeavingNothing(stack), 120_000);

  it('runs PostgreSQL and the four services, each healthy by its own check', () => {
    for (const service of NODE_SERVICES) {
      expect(`${service}: ${stack.env['INTERNAL_AUTH_MODE']}`).toBe(`${service}: token+jwt`);
    }
    expectEveryContainerHealthy(stack);
  });

  it('passes every check of docs/curl-matrix-identity.md against the containers', async () => {
    await expectCurlMatrixPasses(stack, 'curl-matrix-identity.md');
  }, 180_000);

  it('charges one metered write, each hop verified as the service that made it', async () => {
    await expectOneMeteredWriteCharged(stack);
    // The callees name the caller its token proved, not a header it could have set.
    const billingLines = stack.logs('billing-server');
    expect(billingLines).toMatch(/"caller":"backend"/);
    expect(billingLines).toMatch(/"caller":"auth-server"/);
    expect(stack.logs('filesystem-server')).toMatch(/"caller":"backend"/);
  });

  it('keeps charging metered writes exactly once while the auth server is stopped', async () => {
    const user = await signUp(stack, 'pro');
    const auth = { authorization: `Bearer ${user.accessToken}` };
    const put = (name: string) =>
      request(`${stack.urls.backend}/me/files/${name}`, {
        method: 'PUT',
        headers: auth,
        body: `written as ${name}`,
      });
    // The first write has the backend fetch its tokens for billing and the filesystem.
    expect(await put('before.txt')).toMatchObject({ status: 201, body: { balance: 4.99 } });

    await stack.stopService('auth-server');
    try {
      expect(await put('during.txt')).toMatchObject({
        status: 201,
        body: { charged: 0.01, balance: 4.98 },
      });
      expect(
        await request(`${stack.urls.backend}/me/files/during.txt`, { headers: auth }),
      ).toMatchObject({ status: 200, body: 'written as during.txt' });
    } finally {
      await stack.startService('auth-server');
    }
    expect(ledger(stack, user.userId)).toBe('opening|5000000\ndeduct|-10000\ndeduct|-10000');
    // Back: sign-up, which needs the auth server itself, works again.
    // Until its process listens, docker's port proxy accepts and then drops the connection.
    const ready = () =>
      request(`${stack.urls['auth-server']}/health/ready`).then(
        (answer) => answer.status,
        () => 0,
      );
    expect(await eventually(ready, (status) => status === 200)).toBe(200);
    expect((await signUp(stack, 'free')).userId).toMatch(/^[0-9a-f-]{36}$/);
  }, 180_000);

  it('writes no secret and no service token into any container log', async () => {
    const headers = await stack.credentials.headers(
      stack.urls['auth-server'],
      'operator',
      'billing-server',
    );
    const serviceToken = headers['Authorization'].replace(/^Bearer /, '');
    expect(serviceToken).toMatch(/^eyJ/);
    // Traffic that carries it: an accepted internal call (the operator reads a ledger).
    const { userId } = await signUp(stack, 'free');
    expect(
      await request(`${stack.urls['billing-server']}/ledger/${userId}`, { headers }),
    ).toMatchObject({ status: 200 });

    expectNoSecretInLogs(stack, [
      ...stack.credentials.secrets(),
      stack.env['POSTGRES_PASSWORD'],
      serviceToken,
    ]);
  });
});

/**
 * The same stack on Fastify (`HTTP_ADAPTER=fastify` in `.env`): every service says so in its
 * ready line, and the curl matrix, a metered write and the logs hold as on Express.
 */
describeWithEngine('docker compose up with HTTP_ADAPTER=fastify', () => {
  let stack: ComposeStack;

  beforeAll(async () => {
    if (unavailable) throw new Error(`CI must run the compose suite, but ${unavailable}`);
    stack = await startComposeStack('token', 'fastify');
  }, 1_200_000);

  afterAll(() => downLeavingNothing(stack), 120_000);

  it('runs PostgreSQL and the four services on Fastify, each healthy by its own check', () => {
    expectEveryContainerHealthy(stack);
    expectEveryServiceOn(stack, 'fastify');
  });

  it('passes every check of docs/curl-matrix.md against the containers', async () => {
    await expectCurlMatrixPasses(stack, 'curl-matrix.md');
  }, 300_000);

  it('registers, logs in and charges one metered write in the containers’ PostgreSQL', async () => {
    await expectOneMeteredWriteCharged(stack);
  });

  it('writes neither the internal token nor the database password into any container log', () => {
    expectNoSecretInLogs(stack, [
      stack.env['INTERNAL_SERVICE_TOKEN'],
      stack.env['POSTGRES_PASSWORD'],
    ]);
  });
});

function expectEveryContainerHealthy(stack: ComposeStack): void {
  for (const service of Object.keys(COMPOSE_SERVICES) as ComposeService[]) {
    const state = stack.docker([
      'inspect',
      '--format',
      '{{.State.Status}} {{.State.Health.Status}}',
      stack.containerId(service),
    ]);
    expect(`${service}: ${state}`).toBe(`${service}: running healthy`);
  }
}

/** Each service's ready line names the HTTP adapter it runs on. */
function expectEveryServiceOn(stack: ComposeStack, adapter: 'express' | 'fastify'): void {
  for (const service of NODE_SERVICES) {
    expect(stack.logs(service)).toMatch(
      new RegExp(`${service} listening on http://\\S+ \\(${adapter}\\)`),
    );
  }
}

/** Runs every check of `docs/<file>` from the host against the published containers. */
async function expectCurlMatrixPasses(stack: ComposeStack, file: string): Promise<void> {
  const { code, output } = await runScript('curl-matrix.ts', [join('docs', file)], {
    ...inheritedProcessEnvironment(),
    STACK_ENV_FILE: stack.envFile,
    BILLING_SERVER_URL: stack.urls['billing-server'],
    AUTH_SERVER_URL: stack.urls['auth-server'],
    FILESYSTEM_SERVER_URL: stack.urls['filesystem-server'],
    BACKEND_URL: stack.urls.backend,
  });
  const checks =
    readFileSync(join(workspaceRoot(), 'docs', file), 'utf8').match(/```sh\n# expect:/g)?.length ??
    0;
  expect(checks).toBeGreaterThan(25);
  expect(output).toContain(`curl-matrix: ${checks} passed, 0 failed`);
  expect(code).toBe(0);
  for (const secret of stack.credentials.secrets()) expect(output).not.toContain(secret);
}

/** A new free user's write through the backend: stored, and charged once in the ledger. */
async function expectOneMeteredWriteCharged(stack: ComposeStack): Promise<void> {
  const { userId, accessToken } = await signUp(stack, 'free');
  const auth = { authorization: `Bearer ${accessToken}` };

  const written = await request(`${stack.urls.backend}/me/files/notes/compose.txt`, {
    method: 'PUT',
    headers: auth,
    body: 'stored in a container',
  });
  expect(written).toMatchObject({
    status: 201,
    body: { path: 'notes/compose.txt', size: 21, charged: 0.01, balance: 0.99 },
  });
  const read = await request(`${stack.urls.backend}/me/files/notes/compose.txt`, {
    headers: auth,
  });
  expect(read).toMatchObject({ status: 200, body: 'stored in a container' });

  // The ledger is in the postgres container: the opening balance and exactly one charge.
  expect(ledger(stack, userId)).toBe('opening|1000000\ndeduct|-10000');
  expect(psql(stack, `SELECT count(*) FROM auth.users WHERE user_id::text = '${userId}'`)).toBe(
    '1',
  );
}

/** `down` with volumes, and then no container, volume or network of the project is left. */
async function downLeavingNothing(stack: ComposeStack | undefined): Promise<void> {
  if (!stack) return;
  const { project, docker } = stack;
  await stack.down();
  for (const kind of ['ps --all', 'volume ls', 'network ls']) {
    const left = docker([
      ...kind.split(' '),
      '--quiet',
      '--filter',
      `label=com.docker.compose.project=${project}`,
    ]);
    expect(`${kind}: ${left}`).toBe(`${kind}: `);
  }
}

function expectNoSecretInLogs(stack: ComposeStack, secrets: readonly string[]): void {
  expect(secrets.every((secret) => secret.length >= 32)).toBe(true);
  for (const service of Object.keys(COMPOSE_SERVICES) as ComposeService[]) {
    const logs = stack.logs(service);
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(logs).not.toContain(secret);
  }
}

/** Makes an invite as the operator's client, registers with it and logs in, from the host. */
function signUp(stack: ComposeStack, tier: 'free' | 'pro' | 'team'): Promise<TestUser> {
  const auth = stack.urls['auth-server'];
  return stack.credentials
    .headers(auth, 'operator', 'auth-server')
    .then((headers) => registerUser(auth, headers, { tier }));
}

/** A user's ledger in the postgres container, `kind|amount` in micro-credits, oldest first. */
function ledger(stack: ComposeStack, userId: string): string {
  return psql(
    stack,
    `SELECT kind, amount FROM billing.ledger_entries WHERE user_id = '${userId}' ORDER BY seq`,
  );
}

/** One SQL query in the postgres container, rows as `a|b` lines. */
function psql(stack: ComposeStack, sql: string): string {
  return stack.docker([
    'exec',
    stack.containerId('postgres'),
    'psql',
    '-U',
    'platform',
    '-d',
    'platform',
    '-tA',
    '-c',
    sql,
  ]);
}

/** Calls `probe` every 100 ms until `done` holds (at most 60 s); returns the last result. */
async function eventually<T>(probe: () => Promise<T>, done: (result: T) => boolean): Promise<T> {
  const deadline = Date.now() + 60_000;
  let result = await probe();
  while (!done(result) && Date.now() < deadline) {
    await sleep(100);
    result = await probe();
  }
  return result;
}
