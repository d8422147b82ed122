// `npm run drill -- [--seed N] [--writes N] [--fault-rate R] [--no-build]`: the fault drill of
// metered writes (docs/metered-writes.md). Runs the four services as real processes on a
// scratch PostgreSQL database and data folder, with a fault proxy in front of billing and of
// the filesystem. For each write it may arm one fault, chosen from the seed: kill -9 of the
// backend, of billing or of the filesystem, a timeout or a reset, before or after the hold,
// the file write, the capture, the release or the resolve. Clients retry as a careful client
// does. When every write has been settled, the ledger/files checker compares the ledger with
// the stored files, and every acknowledged write must be stored byte for byte.
// Prints one JSON report; exit 0 when nothing differs, 1 otherwise.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { ServiceName } from '@zt/stack-launcher';
import { z } from 'zod';
import { drillAdminDatabaseUrl, shellEnvironment } from './config/environment';
import { type Fault, FAULT_ACTIONS, type FaultAction, startFaultProxy } from './drill/fault-proxy';
import { seededRandom } from './drill/seeded-random';
import { checkWrites, type WriteCheckResult, type WriteDifference } from './lib/write-check';
import { buildServices, createInvite, errorMessage, loadLauncher, runMain } from './stack';

const { values: args } = parseArgs({
  options: {
    seed: { type: 'string', default: String(Date.now() % 100_000) },
    writes: { type: 'string', default: '200' },
    'fault-rate': { type: 'string', default: '0.5' },
    users: { type: 'string', default: '3' },
    'no-build': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const seed = Number(args.seed);
const writes = Number(args.writes);
const faultRate = Number(args['fault-rate']);
const userCount = Number(args.users);
if (![seed, writes, faultRate, userCount].every(Number.isFinite) || writes < 1) {
  console.error('usage: npm run drill -- [--seed N] [--writes N] [--fault-rate 0..1] [--users N]');
  process.exit(2);
}
const random = seededRandom(seed);
const INTERNAL_TIMEOUT_MS = 1000;
const CLIENT_TIMEOUT_MS = 20_000;
const MAX_ATTEMPTS = 8;
const SETTLE_TIMEOUT_MS = 90_000;
// A killed service is started again after this pause (as `restart: unless-stopped` would).
const RESTART_PAUSE_MS = 200;
// The team tier's opening balance and the price of a write, in micro-credits.
const OPENING_MICROS = 25_000_000n;
const PRICE_MICROS = 10_000n;
// The steps a fault can strike first, weighted towards the ones every write passes through,
// and the steps only a write that went wrong passes through (a second fault may strike there).
const STEPS = ['hold', 'hold', 'write', 'write', 'write', 'capture', 'capture'];
const RECOVERY_STEPS = ['resolve', 'release'];

/** The services the drill kills: the backend, and the two behind the fault proxies. */
type KilledService = 'billing-server' | 'filesystem-server' | 'backend';

interface User {
  readonly userId: string;
  readonly accessToken: string;
}

/** One metered write, as a client makes it. */
interface Write {
  readonly user: User;
  readonly path: string;
  readonly bytes: Buffer;
  readonly key: string | undefined;
  /** Sent twice at once (a client that double-submits). */
  readonly doubled: boolean;
}

type Outcome = 'acknowledged' | 'cancelled' | 'gave_up';

/** The JSON report the drill prints. */
interface DrillReport extends Record<Outcome, number> {
  seed: number;
  billing_database: 'postgres' | 'pglite';
  writes: number;
  fault_rate: number;
  attempts: number;
  /** How many answers of each status (or `no answer`) the clients got. */
  answers: Record<string, number>;
  faults_armed: number;
  faults_injected: number;
  faults_by_action: Record<FaultAction, number>;
  /** Faults injected by `<when> <step>`. */
  faults_by_step: Record<string, number>;
  kills: Partial<Record<KilledService, number>>;
  differences: WriteDifference[];
  check?: Omit<WriteCheckResult, 'differences'> & { differences: number };
  error?: string;
  duration_s?: number;
  scratch?: string;
}

const holdsPage = z.object({ holds: z.array(z.unknown()), next_after: z.string().nullable() });

async function main(): Promise<void> {
  if (!args['no-build']) buildServices();
  const { freePort, inheritedEnvironment, launchStack, localUrl } = await loadLauncher();

  const started = Date.now();
  const scratch = mkdtempSync(join(tmpdir(), 'zt-drill-'));
  const token = randomBytes(32).toString('base64url');
  const database = `zt_drill_${randomBytes(6).toString('hex')}`;
  let admin: pg.Client | undefined;
  let databaseUrl: URL | undefined;
  if (drillAdminDatabaseUrl) {
    admin = new pg.Client({ connectionString: drillAdminDatabaseUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    databaseUrl = new URL(drillAdminDatabaseUrl);
    databaseUrl.pathname = `/${database}`;
  }

  // Billing and the filesystem each get a fault proxy in front of them, so their ports are
  // chosen first: the proxies forward there, and every caller is sent to the proxies.
  const ports = { 'billing-server': await freePort(), 'filesystem-server': await freePort() };
  const kills: Record<KilledService, number> = {
    'billing-server': 0,
    'filesystem-server': 0,
    backend: 0,
  };
  /** The restart under way of a killed service, by name. */
  const restarts = new Map<ServiceName, Promise<unknown>>();

  /**
   * SIGKILL (no shutdown hook runs, as in a crash), then the service is started again on the
   * same port and data, as a supervisor would. A no-op while it is down already. (Faults, and
   * so kills, are armed only once the stack below runs.)
   */
  function kill9(name: KilledService): void {
    if (restarts.has(name) || !stack.process(name).running) return;
    kills[name] += 1;
    restarts.set(name, restartAfter(stack.kill(name), name));
  }

  function restartAfter(exited: Promise<unknown>, name: ServiceName): Promise<unknown> {
    const restarted = exited
      .then(() => sleep(RESTART_PAUSE_MS))
      .then(() => stack.start(name))
      .finally(() => restarts.delete(name));
    restarted.catch(() => undefined);
    return restarted;
  }

  /** Resolves once `name` runs and is ready (after a kill: the process started after it). */
  async function ready(name: ServiceName): Promise<void> {
    while (restarts.has(name)) await restarts.get(name);
  }

  // Faults are armed only for the backend's calls (holds, captures, releases, writes,
  // resolves); the auth server's calls to billing pass through the proxy untouched.
  const billingProxy = await startFaultProxy({
    targetUrl: localUrl(ports['billing-server']),
    stepOf: (method, path) => {
      if (method === 'POST' && path === '/holds') return 'hold';
      if (method === 'POST' && path.endsWith('/capture')) return 'capture';
      if (method === 'POST' && path.endsWith('/release')) return 'release';
      return 'other';
    },
    kill: { backend: () => kill9('backend'), upstream: () => kill9('billing-server') },
  });
  const filesystemProxy = await startFaultProxy({
    targetUrl: localUrl(ports['filesystem-server']),
    stepOf: (method, path) => {
      if (method === 'PUT' && path.startsWith('/files/')) return 'write';
      if (method === 'POST' && path.endsWith('/resolve')) return 'resolve';
      return 'other';
    },
    kill: { backend: () => kill9('backend'), upstream: () => kill9('filesystem-server') },
  });
  const stack = await launchStack({
    env: {
      ...inheritedEnvironment(shellEnvironment),
      INTERNAL_SERVICE_TOKEN: token,
      DATA_DIR: join(scratch, 'data'),
      LOG_LEVEL: 'info',
      INTERNAL_HTTP_TIMEOUT_MS: String(INTERNAL_TIMEOUT_MS),
      CIRCUIT_BREAKER_RESET_MS: '1000',
    },
    serviceEnv: {
      'billing-server': databaseUrl ? { DATABASE_URL: databaseUrl.href } : {},
      // Open writes are settled quickly, so the drill ends soon after its last write.
      backend: { WRITE_SETTLE_AFTER_SECONDS: '3', WRITE_SETTLE_INTERVAL_MS: '500' },
    },
    ports,
    urls: { 'billing-server': billingProxy.url, 'filesystem-server': filesystemProxy.url },
    // Each process writes its own log, <n>-<service>.log, kept with the scratch folder when
    // the drill fails.
    logDir: scratch,
    // A service that dies by itself is started again too.
    onExit: (name, _exit, expected) => {
      if (!expected && !restarts.has(name)) {
        restarts.set(name, restartAfter(Promise.resolve(), name));
      }
    },
  });
  /** Where a service listens, past its proxy: what the checks read. */
  const direct = (name: ServiceName): string => stack.process(name).url;

  const report: DrillReport = {
    seed,
    billing_database: admin ? 'postgres' : 'pglite',
    writes,
    fault_rate: faultRate,
    acknowledged: 0,
    cancelled: 0,
    gave_up: 0,
    attempts: 0,
    answers: {},
    faults_armed: 0,
    faults_injected: 0,
    faults_by_action: { 'kill-backend': 0, 'kill-upstream': 0, timeout: 0, reset: 0 },
    faults_by_step: {},
    kills: {},
    differences: [],
  };
  let exitCode = 1;
  try {
    const users: User[] = [];
    for (let index = 0; index < userCount; index += 1) users.push(await signUp(index));

    const acknowledged: Write[] = [];
    // Keyed writes answered 409: nothing stored, nothing charged, whatever happened before.
    const cancelled: Write[] = [];
    for (let index = 0; index < writes; index += 1) {
      // Drawn in this order, so a seed gives the same drill.
      const user = users[random.int(users.length)];
      const bytes = random.bytes(1 + random.int(2048));
      const key = random.next() < 0.75 ? `drill-${seed}-${index}` : undefined;
      const write: Write = {
        user,
        path: `drill/${index}.bin`,
        bytes,
        key,
        doubled: key !== undefined && random.next() < 0.15,
      };
      if (random.next() < faultRate) {
        armFault(random.pick(STEPS));
        if (random.next() < 0.5) armFault(random.pick(RECOVERY_STEPS));
      }
      const outcome = await runWrite(write);
      disarmFaults();
      report[outcome] += 1;
      if (outcome === 'acknowledged') acknowledged.push(write);
      if (outcome === 'cancelled' && write.key) cancelled.push(write);
    }

    await Promise.all([ready('billing-server'), ready('filesystem-server'), ready('backend')]);
    await waitUntilSettled();
    const check = await checkWrites({
      billingUrl: direct('billing-server'),
      filesystemUrl: direct('filesystem-server'),
      // The drill's stack runs in token mode.
      headers: async () => ({ 'X-INTERNAL-TOKEN': token }),
    });
    report.differences.push(...check.differences);
    for (const write of acknowledged) {
      const stored = await fetch(`${direct('filesystem-server')}/files/${write.path}`, {
        headers: { 'X-INTERNAL-TOKEN': token, 'X-User-ID': write.user.userId },
      });
      const bytes = Buffer.from(await stored.arrayBuffer());
      if (stored.status !== 200 || !bytes.equals(write.bytes)) {
        report.differences.push({
          kind: 'acknowledged_not_stored',
          user_id: write.user.userId,
          path: write.path,
        });
      }
    }
    for (const write of cancelled) {
      const stored = await fetch(`${direct('filesystem-server')}/files/${write.path}`, {
        headers: { 'X-INTERNAL-TOKEN': token, 'X-User-ID': write.user.userId },
      });
      await stored.arrayBuffer();
      if (stored.status !== 404) {
        report.differences.push({
          kind: 'cancelled_but_stored',
          user_id: write.user.userId,
          path: write.path,
        });
      }
    }
    // Money, from the outside: each balance is the opening less one price per captured hold.
    for (const user of users) {
      const expected = OPENING_MICROS - PRICE_MICROS * (await capturedHolds(user.userId));
      const { balance } = await internalGet(
        z.object({ balance: z.number() }),
        direct('billing-server'),
        `/balance/${user.userId}`,
      );
      if (BigInt(Math.round(balance * 1e6)) !== expected) {
        report.differences.push({
          kind: 'balance_not_expected',
          user_id: user.userId,
          balance,
          expected: Number(expected) / 1e6,
        });
      }
    }
    report.check = { ...check, differences: check.differences.length };
    exitCode = report.differences.length === 0 ? 0 : 1;
  } catch (error) {
    report.error = errorMessage(error);
  } finally {
    report.kills = kills;
    report.duration_s = Math.round((Date.now() - started) / 1000);
    await Promise.allSettled(restarts.values());
    await stack.stopAll();
    await Promise.all([billingProxy.close(), filesystemProxy.close()]);
    if (admin) {
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    }
    if (args.keep || exitCode !== 0) report.scratch = scratch;
    else rmSync(scratch, { recursive: true, force: true });
  }
  console.log(JSON.stringify(report));
  process.exit(exitCode);

  /** Arms one fault from the seed for `step`, at the proxy that step passes. */
  function armFault(step: string): void {
    const fault: Fault = {
      step,
      when: random.pick(['before', 'after'] as const),
      action: random.pick(FAULT_ACTIONS),
      onFire(fired) {
        report.faults_injected += 1;
        report.faults_by_action[fired.action] += 1;
        const label = `${fired.when} ${fired.step}`;
        report.faults_by_step[label] = (report.faults_by_step[label] ?? 0) + 1;
      },
    };
    report.faults_armed += 1;
    (['write', 'resolve'].includes(step) ? filesystemProxy : billingProxy).arm(fault);
  }

  function disarmFaults(): void {
    billingProxy.disarm();
    filesystemProxy.disarm();
  }

  /**
   * One write as a careful client makes it: on no answer or a 5xx it waits for the backend
   * and tries again (with its Idempotency-Key when it has one, so the retry completes the
   * same write). @returns `acknowledged`, `cancelled` (a 409: nothing stored, nothing
   * charged) or `gave_up`.
   */
  async function runWrite(write: Write): Promise<Outcome> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
      await ready('backend');
      // A client that double-submits: the same keyed write twice at once.
      const copies = write.doubled ? 2 : 1;
      report.attempts += copies;
      const statuses = await Promise.all(Array.from({ length: copies }, () => sendWrite(write)));
      for (const status of statuses) {
        const label = String(status ?? 'no answer');
        report.answers[label] = (report.answers[label] ?? 0) + 1;
      }
      if (statuses.some((status) => status === 200 || status === 201)) return 'acknowledged';
      if (statuses.every((status) => status === 409)) return 'cancelled';
      const refused = statuses.find(
        (status) => status !== undefined && status < 500 && status !== 409,
      );
      if (refused !== undefined) throw new Error(`write ${write.path} answered ${refused}`);
      // The client backs off; meanwhile what was killed comes back (as a supervisor would).
      await Promise.all([ready('billing-server'), ready('filesystem-server')]);
      await sleep(250 * attempt);
    }
    return 'gave_up';
  }

  /** One PUT of `write`; its status, or undefined when no answer came. */
  async function sendWrite(write: Write): Promise<number | undefined> {
    try {
      const response = await fetch(`${stack.urls.backend}/me/files/${write.path}`, {
        method: 'PUT',
        headers: {
          Authorization: `Bearer ${write.user.accessToken}`,
          'Content-Type': 'application/octet-stream',
          ...(write.key ? { 'Idempotency-Key': write.key } : {}),
        },
        body: write.bytes,
        signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
      });
      await response.arrayBuffer();
      return response.status;
    } catch {
      return undefined;
    }
  }

  /** Registers and signs in one user of the team tier (25 credits: 2500 writes). */
  async function signUp(index: number): Promise<User> {
    const authUrl = stack.urls['auth-server'];
    const post = async (path: string, body: unknown) => {
      const response = await fetch(`${authUrl}${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as unknown };
    };
    const inviteCode = await createInvite(
      { AUTH_SERVER_URL: authUrl, INTERNAL_SERVICE_TOKEN: token },
      'team',
    );
    const email = `drill-${index}@example.com`;
    const password = randomBytes(12).toString('base64url');
    const registered = await post('/register', { email, password, invite_code: inviteCode });
    const user = z.object({ user_id: z.string() }).safeParse(registered.body);
    if (registered.status !== 201 || !user.success) {
      throw new Error(`register answered ${registered.status}`);
    }
    const login = await post('/login', { email, password });
    const session = z.object({ access_token: z.string() }).safeParse(login.body);
    if (!session.success) throw new Error(`login answered ${login.status}`);
    return { userId: user.data.user_id, accessToken: session.data.access_token };
  }

  /** How many holds of `userId` were captured, as billing lists them. */
  async function capturedHolds(userId: string): Promise<bigint> {
    let count = 0;
    let after: string | undefined;
    do {
      const query = `/holds?state=captured&user_id=${userId}&limit=1000${after ? `&after=${after}` : ''}`;
      const page = await internalGet(holdsPage, direct('billing-server'), query);
      count += page.holds.length;
      after = page.next_after ?? undefined;
    } while (after !== undefined);
    return BigInt(count);
  }

  /** GET with the internal credential, as the backend; the JSON answer, as `answer` reads it. */
  async function internalGet<T>(
    answer: z.ZodType<T, z.ZodTypeDef, unknown>,
    base: string,
    path: string,
  ): Promise<T> {
    const response = await fetch(`${base}${path}`, {
      headers: { 'X-INTERNAL-TOKEN': token, 'X-Caller-Service': 'backend' },
    });
    if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}`);
    return answer.parse(await response.json());
  }

  /** Waits until billing holds no open hold of the backend (the resolver settled them all). */
  async function waitUntilSettled(): Promise<void> {
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    for (;;) {
      const response = await fetch(`${direct('billing-server')}/holds?state=held&limit=1`, {
        headers: { 'X-INTERNAL-TOKEN': token, 'X-Caller-Service': 'backend' },
      }).catch(() => undefined);
      const open =
        response?.status === 200 ? holdsPage.parse(await response.json()).holds.length : 1;
      if (open === 0) return;
      if (Date.now() > deadline) return;
      await sleep(250);
    }
  }
}

runMain(main);
