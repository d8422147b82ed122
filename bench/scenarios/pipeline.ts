// 7. The shared pipeline on a real route: billing's guarded GET /balance/:user_id (PostgreSQL)
// against the bare NestJS hello, both under 16 connections, for throughput and for the tail
// (p99 / p50 of the guarded route: queueing for the database pool, GC pauses).
import type { ServiceProcess } from '@zt/stack-launcher';
import { alternate, type RoundEntry } from '../lib/compare';
import { type BenchContext, scratchDatabase } from '../lib/context';
import { hammer } from '../lib/load';
import {
  type ComparisonDefinition,
  comparisonResult,
  type ScenarioResult,
  skippedResult,
} from '../lib/result';
import { call, expectStatus } from '../lib/stack';
import { round, summarize } from '../lib/stats';
import { loadDescription } from './framework-floor';

export const GROUP = 'pipeline';
// The figure was taken under 16 connections: more than billing's pool of 10.
const CONNECTIONS = 16;
const USER = 'bench-pipeline';

const ROUTE: Omit<ComparisonDefinition, 'load'> = {
  id: 'guarded-route',
  group: GROUP,
  title: "Guarded real route: billing's GET /balance (PostgreSQL) vs the bare NestJS hello",
  baseline: { label: 'NestJS 11 (Express) hello, defaults', request: 'GET /hello' },
  subject: {
    label: 'billing-server GET /balance/:user_id (X-INTERNAL-TOKEN)',
    request: 'GET /balance/:user_id',
  },
  target: {
    metric: 'ratio',
    op: '>=',
    value: 0.35,
    description: 'the guarded real route >= 0.35 x the bare NestJS hello',
  },
  notes:
    "What the whole pipeline costs on a real route: the chassis (request id, request line, metrics, strict JSON, error filter), the kit's guard and one SELECT through the pg pool, against NestJS with nothing of ours.",
};

const TAIL: Omit<ComparisonDefinition, 'load'> = {
  ...ROUTE,
  id: 'guarded-route-tail',
  title: "Tail latency: billing's GET /balance under 16 connections, p99 / p50",
  target: {
    metric: 'subjectP99OverP50',
    op: '<=',
    value: 5,
    description: 'p99 <= 5 x p50 under 16 connections',
  },
  notes:
    'The same rounds as guarded-route, read for the subject alone: its p99 divided by its p50 in each round (median and min-max over the rounds).',
};

export async function run(ctx: BenchContext): Promise<ScenarioResult[]> {
  const { settings } = ctx;
  const load = { ...loadDescription(settings, CONNECTIONS), database: 'postgres' };
  if (ctx.postgres.reason !== undefined) {
    return [ROUTE, TAIL].map((definition) =>
      skippedResult({ ...definition, load }, ctx.postgres.reason ?? 'no PostgreSQL'),
    );
  }
  const databaseUrl = await scratchDatabase(ctx);
  let hello: ServiceProcess | undefined;
  let billing: ServiceProcess | undefined;
  try {
    [hello, billing] = await Promise.all([
      ctx.group.startServer('nest-hello (pipeline)', ctx.paths.built('nest-hello.js')),
      ctx.group.startService('billing-server (pipeline)', 'billing-server', {
        env: { INTERNAL_SERVICE_TOKEN: ctx.token, DATABASE_URL: databaseUrl },
      }),
    ]);
    const headers = { 'X-INTERNAL-TOKEN': ctx.token };
    expectStatus(
      `POST /account ${USER}`,
      await call(`${billing.url}/account`, {
        method: 'POST',
        headers,
        json: { user_id: USER, tier: 'team' },
      }),
      201,
    );
    const helloUrl = `${hello.url}/hello`;
    const balanceUrl = `${billing.url}/balance/${USER}`;
    ctx.log(`${ROUTE.id}: ${ROUTE.title}`);
    const measured = await alternate({
      baseline: (seconds) => hammer({ url: helloUrl, connections: CONNECTIONS, seconds }),
      subject: (seconds) => hammer({ url: balanceUrl, headers, connections: CONNECTIONS, seconds }),
      ...settings,
      log: ctx.log,
    });
    const tail = {
      ...measured,
      metrics: { ...measured.metrics, subjectP99OverP50: tailSpread(measured.rounds) },
    };
    return [
      comparisonResult({ ...ROUTE, load }, measured),
      comparisonResult({ ...TAIL, load }, tail),
    ];
  } finally {
    await Promise.all([hello?.stop(), billing?.stop()]);
  }
}

/** The subject's p99 / p50 of each round, as a spread over the rounds. */
function tailSpread(rounds: readonly RoundEntry[]) {
  return summarize(rounds.map((entry) => round(entry.subject.p99 / entry.subject.p50)));
}
