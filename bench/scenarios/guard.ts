// 2. Guard cost: one process, one handler, `/guarded/...` behind InternalTokenGuard and
// `/open/...` without it (bench/src/guard). In memory (the guard against the framework
// alone) and with billing's balance SELECT on PostgreSQL (a real read route).
import type { ServiceProcess } from '@zt/stack-launcher';
import { alternate, type SideRun, type Target } from '../lib/compare';
import { type BenchContext, scratchDatabase } from '../lib/context';
import { hammer } from '../lib/load';
import type { Settings } from '../lib/report';
import {
  type ComparisonDefinition,
  comparisonResult,
  type ScenarioResult,
  skippedResult,
} from '../lib/result';
import { loadDescription } from './framework-floor';

export const GROUP = 'guard';
const TARGET: Target = {
  metric: 'ratio',
  op: '>=',
  value: 0.97,
  description: 'guarded req/s >= 0.97 x open req/s',
};

type Source = 'memory' | 'database';

function definition(source: Source, settings: Settings): ComparisonDefinition {
  const where = source === 'memory' ? 'in-memory balance' : 'balance SELECT on PostgreSQL';
  return {
    id: `guard-${source === 'memory' ? 'memory' : 'postgres'}`,
    group: GROUP,
    title: `Guard cost: the same balance read (${where}) with vs without InternalTokenGuard`,
    baseline: { label: 'no guard', request: `GET /open/${source}/:user_id` },
    subject: { label: 'InternalTokenGuard', request: `GET /guarded/${source}/:user_id` },
    load: loadDescription(settings, settings.connections),
    target: TARGET,
    notes:
      "Fixture bench/src/guard: one process built and booted like the services (runService, with the LoggingModule, MetricsModule and ServiceHttpModule the billing server imports), one handler mounted twice: /guarded/... behind InternalTokenGuard (@UseGuards), /open/... with no guard. The billing app cannot be imported from bench/ (lint boundaries), so the database read is billing's own SELECT on a table shaped like its accounts table. Both routes get the same X-INTERNAL-TOKEN header, so the requests are the same size.",
  };
}

const OWN_CODE: Omit<ComparisonDefinition, 'load'> = {
  id: 'guard-own-code',
  group: GROUP,
  title: "Guard's own code: InternalTokenGuard vs a guard that returns true (in-memory balance)",
  baseline: { label: 'a guard that returns true', request: 'GET /allow-all/memory/:user_id' },
  subject: { label: 'InternalTokenGuard', request: 'GET /guarded/memory/:user_id' },
  notes:
    "Context for the guard cost: both routes have one guard, so Nest's guard machinery (the guards consumer, one more await per request) is on both sides and what remains is InternalTokenGuard's own work (route metadata, header read, digest, constant-time compare).",
};

const LOGGING: Omit<ComparisonDefinition, 'load'> = {
  id: 'request-logging',
  group: GROUP,
  title: 'Request logging: one pino line per request (LOG_LEVEL=info) vs none (LOG_LEVEL=warn)',
  baseline: { label: 'guard fixture, LOG_LEVEL=warn', request: 'GET /open/memory/:user_id' },
  subject: {
    label: 'guard fixture, LOG_LEVEL=info (the default)',
    request: 'GET /open/memory/:user_id',
  },
  target: {
    metric: 'ratio',
    op: '>=',
    value: 0.95,
    description: 'request logging costs at most 5% of throughput',
  },
  notes:
    'What the per-request log line (LoggingModule: pino-http, header redaction, the write to stdout, synchronous by default) costs on the shared pipeline. Two processes of the same build; output goes to a file.',
};

const LOG_WRITES: Omit<ComparisonDefinition, 'load'> = {
  id: 'log-writes',
  group: GROUP,
  title: 'Log writes: buffered (LOG_WRITES=buffered) vs synchronous (LOG_WRITES=sync, the default)',
  baseline: {
    label: 'guard fixture, LOG_LEVEL=info, LOG_WRITES=sync',
    request: 'GET /open/memory/:user_id',
  },
  subject: {
    label: 'guard fixture, LOG_LEVEL=info, LOG_WRITES=buffered',
    request: 'GET /open/memory/:user_id',
  },
  notes:
    'What writing each request line before going on costs against coalesced background writes (pino.destination sync vs not; both flush on exit). Two processes of the same build; output goes to a file.',
};

export async function run(ctx: BenchContext): Promise<ScenarioResult[]> {
  const { settings } = ctx;
  const databaseUrl = ctx.postgres.url ? await scratchDatabase(ctx) : undefined;
  const start = (name: string, log: Record<string, string>, url: string | undefined) =>
    ctx.group.startServer(name, ctx.paths.built('guard-server.js'), {
      env: {
        INTERNAL_SERVICE_TOKEN: ctx.token,
        DATABASE_URL: url,
        BENCH_PORT: '0',
        ...log,
      },
    });
  // Only the in-memory route is used on the last two: no database.
  const [server, quiet, synchronous] = await Promise.all([
    start('guard-server', { LOG_LEVEL: 'info' }, databaseUrl),
    start('guard-server (LOG_LEVEL=warn)', { LOG_LEVEL: 'warn' }, undefined),
    start('guard-server (LOG_WRITES=sync)', { LOG_LEVEL: 'info', LOG_WRITES: 'sync' }, undefined),
  ]);
  const results: ScenarioResult[] = [];
  try {
    for (const source of ['memory', 'database'] as const) {
      const def = definition(source, settings);
      if (source === 'database' && !databaseUrl) {
        results.push(skippedResult(def, ctx.postgres.reason ?? 'no PostgreSQL'));
        continue;
      }
      ctx.log(`${def.id}: ${def.title}`);
      const load =
        (prefix: string): SideRun =>
        (seconds) =>
          hammer({
            url: `${server.url}/${prefix}/${source}/user-7`,
            headers: { 'X-INTERNAL-TOKEN': ctx.token },
            connections: settings.connections,
            seconds,
          });
      const measured = await alternate({
        baseline: load('open'),
        subject: load('guarded'),
        ...settings,
        log: ctx.log,
      });
      results.push(comparisonResult(def, measured));
    }

    ctx.log(`${OWN_CODE.id}: ${OWN_CODE.title}`);
    const memoryRoute =
      (prefix: string): SideRun =>
      (seconds) =>
        hammer({
          url: `${server.url}/${prefix}/memory/user-7`,
          headers: { 'X-INTERNAL-TOKEN': ctx.token },
          connections: settings.connections,
          seconds,
        });
    const ownCode = await alternate({
      baseline: memoryRoute('allow-all'),
      subject: memoryRoute('guarded'),
      ...settings,
      log: ctx.log,
    });
    results.push(
      comparisonResult(
        { ...OWN_CODE, load: loadDescription(settings, settings.connections) },
        ownCode,
      ),
    );

    const open =
      (target: ServiceProcess): SideRun =>
      (seconds) =>
        hammer({
          url: `${target.url}/open/memory/user-7`,
          headers: { 'X-INTERNAL-TOKEN': ctx.token },
          connections: settings.connections,
          seconds,
        });
    for (const [definition, baseline] of [
      [LOGGING, quiet],
      [LOG_WRITES, synchronous],
    ] as const) {
      ctx.log(`${definition.id}: ${definition.title}`);
      const measured = await alternate({
        baseline: open(baseline),
        subject: open(server),
        ...settings,
        log: ctx.log,
      });
      results.push(
        comparisonResult(
          { ...definition, load: loadDescription(settings, settings.connections) },
          measured,
        ),
      );
    }
  } finally {
    await Promise.all([server.stop(), quiet.stop(), synchronous.stop()]);
  }
  return results;
}
