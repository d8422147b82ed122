// 7. The shared pipeline on a real route: billing's guarded GET /balance/:user_id (PostgreSQL)
// against the bare NestJS hello, both under 16 connections, for throughput and for the tail
// (p99 / p50 of the guarded route: queueing for the database pool, GC pauses), and the bytes
// each allocates per request.
import type { ServiceProcess } from '@zt/stack-launcher';
import { AllocationProbe } from '../lib/allocation';
import { alternate, type RoundEntry } from '../lib/compare';
import { type BenchContext, scratchDatabase } from '../lib/context';
import { assertMostlyOk, hammer, type HammerOptions } from '../lib/load';
import {
  type ComparisonDefinition,
  comparisonResult,
  type CountResult,
  type ScenarioDefinition,
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

type Adapter = 'express' | 'fastify';
const ADAPTERS: readonly Adapter[] = ['express', 'fastify'];
const ROUTE_TARGET = 0.35;

function routeDefinition(adapter: Adapter): Omit<ComparisonDefinition, 'load'> {
  const fastify = adapter === 'fastify';
  return {
    id: fastify ? 'guarded-route-fastify' : 'guarded-route',
    group: GROUP,
    title: `Guarded real route: billing's GET /balance (PostgreSQL) on ${fastify ? 'Fastify' : 'Express'} vs the bare NestJS (Express) hello`,
    baseline: { label: 'NestJS 11 (Express) hello, defaults', request: 'GET /hello' },
    subject: {
      label: `billing-server on ${fastify ? 'Fastify' : 'Express'}, GET /balance/:user_id (X-INTERNAL-TOKEN)`,
      request: 'GET /balance/:user_id',
    },
    // On Fastify: twice the Express figure, against the same Express hello.
    target: {
      metric: 'ratio',
      op: '>=',
      value: fastify ? 2 * ROUTE_TARGET : ROUTE_TARGET,
      description: fastify
        ? `billing on Fastify >= 2 x the Express target (${2 * ROUTE_TARGET} x the bare NestJS Express hello)`
        : `the guarded real route >= ${ROUTE_TARGET} x the bare NestJS hello`,
    },
    notes:
      "What the whole pipeline costs on a real route: the chassis (request id, request line, metrics, strict JSON, error filter), the kit's guard and one SELECT through the pg pool, against NestJS on Express with nothing of ours. Both adapters are measured against the same baseline, so their ratios compare directly.",
  };
}

function tailDefinition(adapter: Adapter): Omit<ComparisonDefinition, 'load'> {
  const route = routeDefinition(adapter);
  return {
    ...route,
    id: `${route.id}-tail`,
    title: `Tail latency: billing's GET /balance on ${adapter === 'fastify' ? 'Fastify' : 'Express'} under 16 connections, p99 / p50`,
    target: {
      metric: 'subjectP99OverP50',
      op: '<=',
      value: 5,
      description: 'p99 <= 5 x p50 under 16 connections',
    },
    notes: `The same rounds as ${route.id}, read for the subject alone: its p99 divided by its p50 in each round (median and min-max over the rounds).`,
  };
}

/** Bytes allocated per request by the hello (`adapter` undefined) or by billing's route. */
function allocationDefinition(adapter: Adapter | undefined): ScenarioDefinition {
  const on = adapter === 'fastify' ? 'Fastify' : 'Express';
  return {
    id:
      adapter === undefined
        ? 'allocation-nest-hello'
        : routeDefinition(adapter).id.replace('guarded-route', 'allocation-guarded-route'),
    group: GROUP,
    title:
      adapter === undefined
        ? 'Allocation per request: the bare NestJS (Express) hello, GET /hello'
        : `Allocation per request: billing's guarded GET /balance on ${on}`,
    kind: 'count',
    counter: 'allocation',
    notes:
      adapter === undefined
        ? 'What NestJS on Express allocates for a request before any code of ours: the floor of the rows below.'
        : "Everything the process allocates while answering: the adapter, the chassis, the kit's guard, the request line and pg's query and row.",
  };
}

export async function run(ctx: BenchContext): Promise<ScenarioResult[]> {
  const { settings } = ctx;
  const load = { ...loadDescription(settings, CONNECTIONS), database: 'postgres' };
  const definitions = [
    allocationDefinition(undefined),
    ...ADAPTERS.flatMap((adapter) => [
      routeDefinition(adapter),
      tailDefinition(adapter),
      allocationDefinition(adapter),
    ]),
  ];
  if (ctx.postgres.reason !== undefined) {
    return definitions.map((definition) =>
      skippedResult({ ...definition, load }, ctx.postgres.reason ?? 'no PostgreSQL'),
    );
  }
  const results: ScenarioResult[] = [];
  let hello: ServiceProcess | undefined;
  try {
    const probe = AllocationProbe.of(ctx, 'nest-hello');
    hello = await ctx.group.startServer('nest-hello (pipeline)', ctx.paths.built('nest-hello.js'), {
      env: probe.env,
      nodeArgs: probe.nodeArgs,
    });
    const helloUrl = `${hello.url}/hello`;
    for (const adapter of ADAPTERS) {
      results.push(...(await guardedRoute(ctx, adapter, helloUrl, load)));
    }
    results.unshift(
      await measureAllocation(ctx, allocationDefinition(undefined), hello, probe, {
        url: helloUrl,
        database: 'none',
      }),
    );
    return results;
  } finally {
    await hello?.stop();
  }
}

async function guardedRoute(
  ctx: BenchContext,
  adapter: Adapter,
  helloUrl: string,
  load: ComparisonDefinition['load'],
): Promise<ScenarioResult[]> {
  const { settings } = ctx;
  const databaseUrl = await scratchDatabase(ctx);
  const probe = AllocationProbe.of(ctx, `billing-${adapter}`);
  const billing = await ctx.group.startService(
    `billing-server (pipeline, ${adapter})`,
    'billing-server',
    {
      env: {
        INTERNAL_SERVICE_TOKEN: ctx.token,
        DATABASE_URL: databaseUrl,
        HTTP_ADAPTER: adapter,
        ...probe.env,
      },
      nodeArgs: probe.nodeArgs,
    },
  );
  try {
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
    const balanceUrl = `${billing.url}/balance/${USER}`;
    const route = routeDefinition(adapter);
    ctx.log(`${route.id}: ${route.title}`);
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
      comparisonResult({ ...route, load }, measured),
      comparisonResult({ ...tailDefinition(adapter), load }, tail),
      await measureAllocation(ctx, allocationDefinition(adapter), billing, probe, {
        url: balanceUrl,
        headers,
        database: 'PostgreSQL',
      }),
    ];
  } finally {
    await billing.stop();
  }
}

/**
 * Bytes `server` allocates per request under 16 connections: one window of `request` per
 * round, each as long as a side of a comparison, read by the probe it was started with.
 */
async function measureAllocation(
  ctx: BenchContext,
  definition: ScenarioDefinition,
  server: ServiceProcess,
  probe: AllocationProbe,
  { database, ...request }: Pick<HammerOptions, 'url' | 'headers'> & { database: string },
): Promise<CountResult> {
  ctx.log(`${definition.id}: ${definition.title}`);
  const perRequest: number[] = [];
  let requests = 0;
  let allocated = 0;
  for (let round = 0; round < ctx.settings.rounds; round += 1) {
    const window = await probe.measure(server, async () => {
      const measured = await hammer({
        ...request,
        connections: CONNECTIONS,
        seconds: ctx.settings.seconds,
      });
      assertMostlyOk(definition.id, measured);
      return measured.count + measured.non2xx;
    });
    requests += window.requests;
    allocated += window.allocatedBytes;
    perRequest.push(window.allocatedBytes / window.requests);
  }
  return {
    id: definition.id,
    group: GROUP,
    title: definition.title,
    kind: 'count',
    counter: 'allocation',
    status: 'ok',
    notes: definition.notes,
    load: {
      database,
      window: `${ctx.settings.seconds} s of ${new URL(request.url).pathname.replace(USER, ':user_id')} under ${CONNECTIONS} connections`,
      windows: ctx.settings.rounds,
    },
    metrics: { perOperation: summarize(perRequest) },
    counts: { operations: requests, counted: allocated },
  };
}

/** The subject's p99 / p50 of each round, as a spread over the rounds. */
function tailSpread(rounds: readonly RoundEntry[]) {
  return summarize(rounds.map((entry) => round(entry.subject.p99 / entry.subject.p50)));
}
