// 3a. Internal hop: GET /me through the backend (user token check + billing call) against
// billing's GET /balance called directly, on one connection (latency, not throughput).
// 5. Memory: resident memory of each of the four services idle and under load, on
// PostgreSQL and on the embedded PGlite default (`npm start` on a fresh machine).
// 6c. Service tokens: the stack once more in INTERNAL_AUTH_MODE=token+jwt under the same load,
// and the hit rate of the backend's token cache read from its /metrics.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceName } from '@zt/stack-launcher';
import { alternate, type Target } from '../lib/compare';
import { type BenchContext, scratchDatabase } from '../lib/context';
import { ClientSecrets, fetchServiceToken } from '../lib/identity';
import { hammer, type Measurement } from '../lib/load';
import { type RssSample, sampleRss } from '../lib/memory';
import type { Settings } from '../lib/report';
import {
  type ComparisonDefinition,
  comparisonResult,
  type MemoryMetrics,
  type MemoryResult,
  type RateResult,
  type ScenarioDefinition,
  type ScenarioResult,
  type ServiceMemory,
  skippedResult,
  type TokenCounts,
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

type Adapter = 'express' | 'fastify';

function hopDefinition(
  settings: Settings,
  database: Database,
  adapter: Adapter,
): ComparisonDefinition {
  const fastify = adapter === 'fastify';
  const limit = fastify ? 0.6 : 0.9;
  return {
    id: fastify ? 'internal-hop-fastify' : 'internal-hop',
    group: GROUP,
    title: `Internal hop${fastify ? ' on Fastify' : ''}: GET /me through the backend vs GET /balance on billing directly`,
    baseline: {
      label: 'billing GET /balance/:user_id, direct (X-INTERNAL-TOKEN)',
      request: 'GET /balance/:user_id',
    },
    subject: {
      label: 'backend GET /me (JWT check + internal call to billing)',
      request: 'GET /me',
    },
    load: { ...loadDescription(settings, 1), database, adapter },
    target: {
      metric: 'p50DiffMs',
      op: '<=',
      value: limit,
      description: `the hop adds <= ${limit} ms at p50 on ${fastify ? 'Fastify' : 'Express'}`,
    },
    notes:
      'One connection, so that latency is not queueing; both sides end in the same billing read. Every service of the stack runs on the same adapter (HTTP_ADAPTER).',
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
  results.push(await hopOnFastify(ctx, hopOn));
  results.push(await tokenCacheHitRate(ctx, hopOn));
  return results;
}

const HIT_RATE_TITLE = "Service-token cache: the backend's hit rate under the stack load";
const TOKEN_SOURCES = ['cached', 'fetched', 'stale', 'failed'] as const;

/**
 * The stack in `token+jwt` mode under the memory scenario's load windows (no RSS kept): the
 * backend puts a service token on every call to billing, the filesystem and the auth server,
 * from its token cache, and counts where each came from (`internal_service_tokens_total`).
 */
async function tokenCacheHitRate(ctx: BenchContext, database: Database): Promise<RateResult> {
  const { settings } = ctx;
  const mode = 'token+jwt';
  const secrets = new ClientSecrets();
  const dataDir = mkdtempSync(join(ctx.tmp, `stack-identity-${database}-`));
  const databaseUrl = database === 'postgres' ? await scratchDatabase(ctx) : undefined;
  ctx.log(`token-cache-hit-rate: starting the four services (${mode}, ${database})`);
  const stack = await startStack(ctx.group, {
    token: ctx.token,
    dataDir,
    databaseUrl,
    env: { INTERNAL_AUTH_MODE: mode, ...secrets.environment() },
  });
  try {
    const urls: StackUrls = {
      backend: urlOf(stack, 'backend'),
      billing: urlOf(stack, 'billing-server'),
      auth: urlOf(stack, 'auth-server'),
    };
    const operator = await fetchServiceToken(urls.auth, secrets, 'operator', 'auth-server');
    const user = await signUp(stack, ctx.token, `bench-identity@example.com`, 'team', {
      Authorization: `Bearer ${operator}`,
    });
    const bearer = { Authorization: `Bearer ${user.accessToken}` };
    await writeProbeFile(urls.backend, bearer);
    const scraper = await fetchServiceToken(urls.auth, secrets, 'metrics-scraper', 'backend');
    const scrape = async (): Promise<TokenCounts> =>
      tokenCounts(
        expectStatus(
          'backend GET /metrics',
          await call(`${urls.backend}/metrics`, {
            headers: { Authorization: `Bearer ${scraper}` },
          }),
          200,
        ),
      );
    const pid = { backend: stack.process('backend').pid };
    const windows: Array<Record<string, WindowAnswers>> = [];
    const rates: number[] = [];
    let before = await scrape();
    for (let index = 0; index < settings.rounds; index += 1) {
      windows.push((await sampleUnderLoad(pid, urls, user, settings)).load);
      const after = await scrape();
      const calls = TOKEN_SOURCES.reduce((sum, s) => sum + after[s] - before[s], 0);
      if (calls === 0) throw new Error('token-cache-hit-rate: the backend made no internal call');
      rates.push((after.cached - before.cached) / calls);
      before = after;
    }
    return {
      id: 'token-cache-hit-rate',
      group: GROUP,
      title: HIT_RATE_TITLE,
      kind: 'rate',
      status: 'ok',
      notes:
        "The stack as `npm start` launches it, with INTERNAL_AUTH_MODE=token+jwt and a generated secret for every service client; the backend gets its service tokens from the auth server through the kit's InternalCallCredentials (one per audience, cached until shortly before expiry, single flight). /metrics is read with a metrics-scraper service token alone (metrics:read for backend), as Prometheus's oauth2 block sends it.",
      load: {
        mode,
        database,
        underLoad:
          'GET /me x4 connections, GET /me/files/<file> x4, POST /login x2, together (the memory windows); /metrics scraped before and after each window',
        windows,
      },
      metrics: { hitRate: summarize(rates) },
      counts: before,
    };
  } finally {
    await stack.stopAll();
  }
}

/** The `internal_service_tokens_total` counts of a Prometheus text exposition, by source. */
function tokenCounts(body: unknown): TokenCounts {
  if (typeof body !== 'string') throw new Error('GET /metrics: the answer is not text');
  const counts = { cached: 0, fetched: 0, stale: 0, failed: 0 };
  for (const line of body.split('\n')) {
    const match =
      /^internal_service_tokens_total\{[^}]*source="(\w+)"[^}]*\} (\d+(?:\.\d+)?)$/.exec(line);
    const source = match?.[1];
    if (source !== undefined && source in counts) {
      counts[source as keyof typeof counts] += Number(match?.[2]);
    }
  }
  return counts;
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
    await writeProbeFile(urls.backend, bearer);
    expectStatus('GET /me', await call(`${urls.backend}/me`, { headers: bearer }), 200);

    const pids = () =>
      Object.fromEntries(stack.services.map((name) => [name, stack.process(name).pid]));
    const idle = await sampleIdle(pids(), settings);
    const results: ScenarioResult[] = [];

    if (withHop) {
      results.push(await measureHop(ctx, hopDefinition(settings, database, 'express'), urls, user));
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

/** The hop comparison on a started stack: `GET /me` at the backend vs billing's balance read. */
async function measureHop(
  ctx: BenchContext,
  definition: ComparisonDefinition,
  urls: StackUrls,
  user: BenchUser,
): Promise<ScenarioResult> {
  ctx.log(`${definition.id}: ${definition.title}`);
  const bearer = { Authorization: `Bearer ${user.accessToken}` };
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
    ...ctx.settings,
    log: ctx.log,
  });
  return comparisonResult(definition, measured);
}

/** The stack once more with every service on Fastify, for the hop alone. */
async function hopOnFastify(ctx: BenchContext, database: Database): Promise<ScenarioResult> {
  const dataDir = mkdtempSync(join(ctx.tmp, `stack-fastify-${database}-`));
  const databaseUrl = database === 'postgres' ? await scratchDatabase(ctx) : undefined;
  ctx.log(`internal-hop-fastify: starting the four services on Fastify (${database})`);
  const stack = await startStack(ctx.group, {
    token: ctx.token,
    dataDir,
    databaseUrl,
    env: { HTTP_ADAPTER: 'fastify' },
  });
  try {
    const urls: StackUrls = {
      backend: urlOf(stack, 'backend'),
      billing: urlOf(stack, 'billing-server'),
      auth: urlOf(stack, 'auth-server'),
    };
    const user = await signUp(stack, ctx.token, `bench-fastify-${database}@example.com`, 'team');
    const bearer = { Authorization: `Bearer ${user.accessToken}` };
    expectStatus('GET /me', await call(`${urls.backend}/me`, { headers: bearer }), 200);
    return await measureHop(ctx, hopDefinition(ctx.settings, database, 'fastify'), urls, user);
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

/** Writes the small file the load reads back (a metered write, so the user pays for it once). */
async function writeProbeFile(
  backendUrl: string,
  bearer: Readonly<Record<string, string>>,
): Promise<void> {
  expectStatus(
    `PUT /me/files/${FILE}`,
    await call(`${backendUrl}/me/files/${FILE}`, {
      method: 'PUT',
      headers: { ...bearer, 'Content-Type': 'application/octet-stream' },
      body: 'a small file, read back under load\n',
    }),
    201,
  );
}
