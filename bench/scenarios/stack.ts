// 3a. Internal hop: GET /me through the backend (user token check + billing call) against
// billing's GET /balance called directly, on one connection (latency, not throughput).
// 5. Memory: resident memory of each of the four services idle and under load, on
// PostgreSQL and on the embedded PGlite default (`npm start` on a fresh machine).
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceName } from '@zt/stack-launcher';
import { alternate, type Target } from '../lib/compare';
import { type BenchContext, scratchDatabase } from '../lib/context';
import { hammer, type Measurement } from '../lib/load';
import { type RssSample, sampleRss } from '../lib/memory';
import type { Settings } from '../lib/report';
import {
  type ComparisonDefinition,
  comparisonResult,
  type MemoryMetrics,
  type MemoryResult,
  type ScenarioDefinition,
  type ScenarioResult,
  type ServiceMemory,
  skippedResult,
  type WindowAnswers,
} from '../lib/result';
import { type BenchUser, call, expectStatus, signUp, startStack, urlOf } from '../lib/stack';
import { round, summarize } from '../lib/stats';
import { loadDescription } from './framework-floor';

export const GROUP = 'stack';
const MEMORY_TARGET: Target = {
  metric: 'idleTotalMiB',
  op: '<=',
  value: 400,
  description: 'the four services together <= 400 MB resident, idle',
};
const FILE = 'bench.txt';

type Database = 'postgres' | 'pglite';

/** The URLs of the services of a launched stack. */
interface StackUrls {
  readonly backend: string;
  readonly billing: string;
  readonly auth: string;
}

/** The RSS samples of one window under load, and what each route answered meanwhile. */
interface LoadWindow {
  readonly samples: RssSample[];
  readonly load: Record<string, WindowAnswers>;
}

function hopDefinition(settings: Settings, database: Database): ComparisonDefinition {
  return {
    id: 'internal-hop',
    group: GROUP,
    title: 'Internal hop: GET /me through the backend vs GET /balance on billing directly',
    baseline: {
      label: 'billing GET /balance/:user_id, direct (X-INTERNAL-TOKEN)',
      request: 'GET /balance/:user_id',
    },
    subject: {
      label: 'backend GET /me (JWT check + internal call to billing)',
      request: 'GET /me',
    },
    load: { ...loadDescription(settings, 1), database },
    target: {
      metric: 'p50DiffMs',
      op: '<=',
      value: 0.5,
      description: 'the hop adds <= 0.5 ms at p50',
    },
    notes:
      'One connection, so that latency is not queueing; both sides end in the same billing read.',
  };
}

function memoryDefinition(database: Database): ScenarioDefinition {
  return {
    id: `memory-${database}`,
    group: GROUP,
    kind: 'memory',
    title: `Memory: the four services on ${database === 'postgres' ? 'PostgreSQL' : 'embedded PGlite (npm start defaults)'}, idle and under load`,
    target: MEMORY_TARGET,
  };
}

export async function run(ctx: BenchContext): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  const hopOn: Database = ctx.postgres.url ? 'postgres' : 'pglite';
  for (const database of ['postgres', 'pglite'] as const) {
    if (database === 'postgres' && ctx.postgres.reason !== undefined) {
      results.push(skippedResult(memoryDefinition(database), ctx.postgres.reason));
      continue;
    }
    results.push(...(await runOn(ctx, database, database === hopOn)));
  }
  // The hop first, then the memory entries, whatever the order they were measured in.
  return results.sort((a, b) => (a.id === 'internal-hop' ? -1 : b.id === 'internal-hop' ? 1 : 0));
}

async function runOn(
  ctx: BenchContext,
  database: Database,
  withHop: boolean,
): Promise<ScenarioResult[]> {
  const { settings } = ctx;
  const dataDir = mkdtempSync(join(ctx.tmp, `stack-${database}-`));
  const databaseUrl = database === 'postgres' ? await scratchDatabase(ctx) : undefined;
  ctx.log(`stack on ${database}: starting the four services`);
  const stack = await startStack(ctx.group, { token: ctx.token, dataDir, databaseUrl });
  try {
    const urls: StackUrls = {
      backend: urlOf(stack, 'backend'),
      billing: urlOf(stack, 'billing-server'),
      auth: urlOf(stack, 'auth-server'),
    };
    const user = await signUp(stack, ctx.token, `bench-${database}@example.com`, 'team');
    const bearer = { Authorization: `Bearer ${user.accessToken}` };
    expectStatus(
      `PUT /me/files/${FILE}`,
      await call(`${urls.backend}/me/files/${FILE}`, {
        method: 'PUT',
        headers: { ...bearer, 'Content-Type': 'application/octet-stream' },
        body: 'a small file, read back under load\n',
      }),
      201,
    );
    expectStatus('GET /me', await call(`${urls.backend}/me`, { headers: bearer }), 200);

    const pids = () =>
      Object.fromEntries(stack.services.map((name) => [name, stack.process(name).pid]));
    const idle = await sampleIdle(pids(), settings);
    const results: ScenarioResult[] = [];

    if (withHop) {
      const def = hopDefinition(settings, database);
      ctx.log(`${def.id}: ${def.title}`);
      const measured = await alternate({
        baseline: (seconds) =>
          hammer({
            url: `${urls.billing}/balance/${user.userId}`,
            headers: { 'X-INTERNAL-TOKEN': ctx.token, 'X-Caller-Service': 'backend' },
            connections: 1,
            seconds,
          }),
        subject: (seconds) =>
          hammer({ url: `${urls.backend}/me`, headers: bearer, connections: 1, seconds }),
        ...settings,
        log: ctx.log,
      });
      results.push(comparisonResult(def, measured));
    }

    ctx.log(`memory-${database}: idle sampled; now under load`);
    const underLoad: LoadWindow[] = [];
    for (let index = 0; index < settings.rounds; index += 1) {
      underLoad.push(await sampleUnderLoad(pids(), urls, user, settings));
    }

    let restartIdle: RssSample[] | undefined;
    if (database === 'pglite') {
      // The first start of an embedded database runs initdb, whose memory stays mapped until
      // a garbage collection; a restart on the same folder is how the stack runs afterwards.
      await stack.restart('billing-server');
      await stack.restart('auth-server');
      expectStatus(
        'GET /me after restart',
        await call(`${urls.backend}/me`, { headers: bearer }),
        200,
      );
      restartIdle = await sampleIdle(pids(), settings);
    }
    results.push(memoryResult(database, stack.services, idle, underLoad, restartIdle));
    return results;
  } finally {
    await stack.stopAll();
  }
}

/** RSS samples of the settled stack (after its set-up requests), every 100 ms. */
async function sampleIdle(
  pids: Readonly<Record<string, number>>,
  settings: Settings,
): Promise<RssSample[]> {
  await sleep(settings.idleSettleSeconds * 1000);
  const sampler = sampleRss(pids, 100);
  await sleep(settings.idleSampleSeconds * 1000);
  return sampler.stop();
}

/**
 * One window of mixed load on every service, with the RSS sampled every 100 ms: GET /me
 * (backend and billing) and GET /me/files/<file> (backend and filesystem) from 4 connections
 * each, and POST /login (auth: scrypt) from 2.
 */
async function sampleUnderLoad(
  pids: Readonly<Record<string, number>>,
  urls: StackUrls,
  user: BenchUser,
  settings: Settings,
): Promise<LoadWindow> {
  const sampler = sampleRss(pids, 100);
  const bearer = { Authorization: `Bearer ${user.accessToken}` };
  const [me, file, login] = await Promise.all([
    hammer({
      url: `${urls.backend}/me`,
      headers: bearer,
      connections: 4,
      seconds: settings.seconds,
    }),
    hammer({
      url: `${urls.backend}/me/files/${FILE}`,
      headers: bearer,
      connections: 4,
      seconds: settings.seconds,
    }),
    hammer({
      url: `${urls.auth}/login`,
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: user.email, password: user.password }),
      connections: 2,
      seconds: settings.seconds,
    }),
  ]);
  const samples = sampler.stop();
  return {
    samples,
    load: {
      'GET /me': answered(me),
      [`GET /me/files/${FILE}`]: answered(file),
      'POST /login': answered(login),
    },
  };
}

function answered(measurement: Measurement): WindowAnswers {
  return {
    rps: round(measurement.count / measurement.seconds, 1),
    non2xx: measurement.non2xx,
    errors: measurement.errors,
  };
}

/** The sum of a sample's services. */
function total(sample: RssSample): number {
  return Object.values(sample).reduce((sum, mib) => sum + mib, 0);
}

function peak(samples: readonly RssSample[], read: (sample: RssSample) => number): number {
  return Math.max(...samples.map(read));
}

function memoryResult(
  database: Database,
  names: readonly ServiceName[],
  idle: readonly RssSample[],
  underLoad: readonly LoadWindow[],
  restartIdle: readonly RssSample[] | undefined,
): MemoryResult {
  const services: Record<string, ServiceMemory> = {};
  for (const name of names) {
    services[name] = {
      idleMiB: summarize(idle.map((sample) => sample[name])),
      loadPeakMiB: summarize(underLoad.map((window) => peak(window.samples, (s) => s[name]))),
      ...(restartIdle && { restartIdleMiB: summarize(restartIdle.map((sample) => sample[name])) }),
    };
  }
  const metrics: MemoryMetrics = {
    idleTotalMiB: summarize(idle.map(total)),
    loadPeakTotalMiB: summarize(underLoad.map((window) => peak(window.samples, total))),
    ...(restartIdle && { restartIdleTotalMiB: summarize(restartIdle.map(total)) }),
  };
  const definition = memoryDefinition(database);
  const observed = metrics.idleTotalMiB.median;
  return {
    id: definition.id,
    group: GROUP,
    title: definition.title,
    kind: 'memory',
    status: 'ok',
    load: {
      idle: 'after start-up, sign-up, one file written and one GET /me; sampled every 100 ms',
      underLoad:
        'GET /me x4 connections, GET /me/files/<file> x4, POST /login x2 (scrypt), together; peak of 100 ms samples per window',
      windows: underLoad.map((window) => window.load),
    },
    metrics,
    services,
    target: { ...MEMORY_TARGET, observed: round(observed), met: observed <= MEMORY_TARGET.value },
  };
}
