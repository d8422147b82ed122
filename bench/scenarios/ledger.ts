// 4. Ledger: POST /deduct over HTTP (the built billing server) against the same statement
// from a bare SQL loop (fixtures/sql-loop.ts) at the same concurrency, on PostgreSQL and on
// PGlite, for deducts spread over many accounts and for one hot account; and the database
// round trips of one deduct (with and without an Idempotency-Key), read from the billing
// server's own counters.
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import type { Environment, ServiceProcess } from '@zt/stack-launcher';
import { alternate, type SideRun } from '../lib/compare';
import { type BenchContext, scratchDatabase } from '../lib/context';
import { hammer } from '../lib/load';
import type { Worker } from '../lib/processes';
import type { Settings } from '../lib/report';
import { judge } from '../lib/compare';
import {
  type ComparisonDefinition,
  comparisonResult,
  type CountResult,
  type ScenarioDefinition,
  type ScenarioResult,
  skippedResult,
} from '../lib/result';
import { summarize } from '../lib/stats';
import { call, expectStatus } from '../lib/stack';
import { loadDescription } from './framework-floor';

export const GROUP = 'ledger';
const SPREAD_ACCOUNTS = 64;
const HOT_ACCOUNT = 'bench-hot';
// One micro-credit a deduct: a team account's 25 credits last 25 million deducts.
const AMOUNT = '0.000001';
const MICROS = '1';

type Database = 'postgres' | 'pglite';
type Distribution = 'spread' | 'hot';

const DATABASES: Readonly<Record<Database, { label: string; target: boolean }>> = {
  postgres: { label: 'PostgreSQL', target: true },
  pglite: { label: 'PGlite (embedded, file-backed)', target: false },
};
const DISTRIBUTIONS: Readonly<Record<Distribution, string>> = {
  spread: `${SPREAD_ACCOUNTS} accounts, one picked at random per deduct`,
  hot: 'one account for every deduct',
};

function definition(
  database: Database,
  distribution: Distribution,
  settings: Settings,
): ComparisonDefinition {
  return {
    id: `ledger-${database}-${distribution}`,
    group: GROUP,
    title: `Ledger on ${DATABASES[database].label}: /deduct over HTTP vs bare SQL, ${distribution === 'spread' ? 'spread-out accounts' : 'one hot account'}`,
    baseline: {
      label: `bare SQL loop (${database === 'postgres' ? 'pg pool of 10' : 'PGlite'})`,
      request:
        "SELECT ... FROM apply_balance_change('deduct', ...) (one statement, its own transaction)",
    },
    subject: {
      label: 'billing-server POST /deduct',
      request: `POST /deduct {"user_id","amount":"${AMOUNT}"}`,
    },
    load: {
      ...loadDescription(settings, settings.connections),
      accounts: DISTRIBUTIONS[distribution],
    },
    target: DATABASES[database].target
      ? { metric: 'ratio', op: '>=', value: 0.5, description: 'HTTP >= 0.5 x bare SQL deducts/s' }
      : undefined,
    notes:
      database === 'pglite'
        ? 'PGlite runs one statement at a time in its process; the HTTP side uses the billing server data folder, the SQL side a copy of it taken before the run (PGlite cannot share a folder between processes).'
        : 'Both sides use the same scratch database and accounts, one after the other.',
  };
}

function accountIds(distribution: Distribution): string[] {
  return distribution === 'hot'
    ? [HOT_ACCOUNT]
    : Array.from({ length: SPREAD_ACCOUNTS }, (_, i) => `bench-${i}`);
}

type KeyUse = 'plain' | 'keyed' | 'replayed';
const ROUND_TRIP_DEDUCTS = 20;
const KEY_USES: Readonly<Record<KeyUse, { suffix: string; what: string }>> = {
  plain: { suffix: '', what: 'without an Idempotency-Key' },
  keyed: { suffix: '-keyed', what: 'each with a new Idempotency-Key' },
  replayed: { suffix: '-replayed', what: 'each a replay (a key already answered, the same body)' },
};

function roundTripDefinition(database: Database, use: KeyUse): ScenarioDefinition {
  return {
    id: `ledger-round-trips-${database}${KEY_USES[use].suffix}`,
    group: GROUP,
    title: `Round trips per deduct on ${DATABASES[database].label}, ${KEY_USES[use].what}`,
    kind: 'count',
    target: {
      metric: 'perOperation',
      op: '<=',
      value: 2,
      description: 'a deduct in at most 2 database round trips',
    },
  };
}

/** The sum of the samples of `name` whose labels include `labels`, in a Prometheus text. */
function counter(exposition: unknown, name: string, labels = ''): number {
  if (typeof exposition !== 'string') throw new Error('GET /metrics: the answer is not text');
  let sum = 0;
  for (const line of exposition.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match?.[1] === name && (match[2] ?? '').includes(labels)) sum += Number(match[3]);
  }
  return sum;
}

/**
 * Round trips per deduct, for each use of a key: windows of deducts sent one at a time, each
 * between two scrapes of the server's `billing_database_round_trips_total` and
 * `billing_ledger_operations_total{kind="deduct"}`.
 */
async function measureRoundTrips(
  ctx: BenchContext,
  server: ServiceProcess,
  database: Database,
  metricsToken: string,
): Promise<ScenarioResult[]> {
  const scrape = async () => {
    const body = expectStatus(
      'billing-server GET /metrics',
      await call(`${server.url}/metrics`, { headers: { Authorization: `Bearer ${metricsToken}` } }),
      200,
    );
    return {
      roundTrips: counter(body, 'billing_database_round_trips_total'),
      deducts: counter(body, 'billing_ledger_operations_total', 'kind="deduct"'),
    };
  };
  const deduct = async (key: string | undefined) =>
    expectStatus(
      `POST /deduct${key === undefined ? '' : ` (Idempotency-Key ${key})`}`,
      await call(`${server.url}/deduct`, {
        method: 'POST',
        headers: {
          'X-INTERNAL-TOKEN': ctx.token,
          ...(key === undefined ? {} : { 'Idempotency-Key': key }),
        },
        json: { user_id: HOT_ACCOUNT, amount: AMOUNT },
      }),
      200,
    );
  const replayedKey = `round-trips-${randomBytes(8).toString('hex')}`;
  await deduct(replayedKey);
  const results: ScenarioResult[] = [];
  for (const use of Object.keys(KEY_USES) as KeyUse[]) {
    const def = roundTripDefinition(database, use);
    ctx.log(`${def.id}: ${def.title}`);
    const perOperation: number[] = [];
    let operations = 0;
    let counted = 0;
    for (let window = 0; window < ctx.settings.rounds; window += 1) {
      const before = await scrape();
      for (let i = 0; i < ROUND_TRIP_DEDUCTS; i += 1) {
        await deduct(
          use === 'plain'
            ? undefined
            : use === 'replayed'
              ? replayedKey
              : `round-trips-${randomBytes(8).toString('hex')}`,
        );
      }
      const after = await scrape();
      const deducts = after.deducts - before.deducts;
      if (deducts !== ROUND_TRIP_DEDUCTS) {
        throw new Error(
          `${def.id}: the server counted ${deducts} deducts, not ${ROUND_TRIP_DEDUCTS}`,
        );
      }
      operations += deducts;
      counted += after.roundTrips - before.roundTrips;
      perOperation.push((after.roundTrips - before.roundTrips) / deducts);
    }
    const metrics = { perOperation: summarize(perOperation) };
    const result: CountResult = {
      id: def.id,
      group: GROUP,
      title: def.title,
      kind: 'count',
      status: 'ok',
      notes:
        'A round trip is a statement, or a BEGIN, COMMIT or ROLLBACK, as libs/database counts them (Database.roundTrips); on PGlite, a call into the embedded database.',
      load: {
        database: DATABASES[database].label,
        window: `${ROUND_TRIP_DEDUCTS} x POST /deduct of ${AMOUNT} from one account, one at a time, ${KEY_USES[use].what}`,
        windows: ctx.settings.rounds,
      },
      metrics,
      counts: { operations, counted },
      target: judge(def.target, metrics),
    };
    results.push(result);
  }
  return results;
}

/** Opens every account the scenario uses, eight requests at a time. */
async function openAccounts(billingUrl: string, token: string): Promise<void> {
  const ids = [...accountIds('spread'), HOT_ACCOUNT];
  const headers = { 'X-INTERNAL-TOKEN': token };
  for (let i = 0; i < ids.length; i += 8) {
    await Promise.all(
      ids.slice(i, i + 8).map(async (userId) =>
        expectStatus(
          `POST /account ${userId}`,
          await call(`${billingUrl}/account`, {
            method: 'POST',
            headers,
            json: { user_id: userId, tier: 'team' },
          }),
          201,
        ),
      ),
    );
  }
}

/** Starts a billing server and opens the accounts: `{ server }`. */
async function startBilling(
  ctx: BenchContext,
  name: string,
  env: Environment,
): Promise<ServiceProcess> {
  const server = await ctx.group.startService(name, 'billing-server', {
    env: { INTERNAL_SERVICE_TOKEN: ctx.token, ...env },
  });
  await openAccounts(server.url, ctx.token);
  return server;
}

const DATABASE_NAMES = Object.keys(DATABASES) as Database[];
const DISTRIBUTION_NAMES = Object.keys(DISTRIBUTIONS) as Distribution[];

export async function run(ctx: BenchContext): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  // The billing server's scrape credential, to read its round-trip counter.
  const metricsToken = randomBytes(32).toString('hex');
  for (const database of DATABASE_NAMES) {
    if (database === 'postgres' && ctx.postgres.reason !== undefined) {
      const reason = ctx.postgres.reason;
      for (const distribution of DISTRIBUTION_NAMES) {
        results.push(skippedResult(definition(database, distribution, ctx.settings), reason));
      }
      for (const use of Object.keys(KEY_USES) as KeyUse[]) {
        results.push(skippedResult(roundTripDefinition(database, use), reason));
      }
      continue;
    }
    results.push(...(await runOn(ctx, database, metricsToken)));
  }
  return results;
}

async function runOn(
  ctx: BenchContext,
  database: Database,
  metricsToken: string,
): Promise<ScenarioResult[]> {
  const { settings } = ctx;
  let billing: ServiceProcess | undefined;
  let loop: Worker | undefined;
  try {
    let loopEnv: Environment;
    if (database === 'postgres') {
      const url = await scratchDatabase(ctx);
      billing = await startBilling(ctx, 'billing-server (ledger, postgres)', {
        DATABASE_URL: url,
        METRICS_TOKEN: metricsToken,
      });
      loopEnv = { BENCH_DB_KIND: 'pg', BENCH_DB_URL: url };
    } else {
      // One initdb (slow: seconds of CPU) serves both sides: the billing server creates the
      // schema and the accounts, stops (PGlite writes everything out on close), its folder is
      // copied for the SQL loop (PGlite cannot share a folder between processes), and it
      // starts again on its own folder.
      const httpDir = mkdtempSync(join(ctx.tmp, 'ledger-http-'));
      const sqlDir = mkdtempSync(join(ctx.tmp, 'ledger-sql-'));
      const env = { DATA_DIR: httpDir, METRICS_TOKEN: metricsToken };
      const preparer = await startBilling(ctx, 'billing-server (ledger, pglite, set-up)', env);
      await preparer.stop();
      cpSync(httpDir, sqlDir, { recursive: true });
      billing = await ctx.group.startService('billing-server (ledger, pglite)', 'billing-server', {
        env: { INTERNAL_SERVICE_TOKEN: ctx.token, ...env },
      });
      loopEnv = {
        BENCH_DB_KIND: 'pglite',
        BENCH_PGLITE_DIR: join(sqlDir, 'billing-server', 'pgdata'),
      };
    }
    const worker = await ctx.group.startWorker(
      `sql-loop (${database})`,
      ctx.paths.fixture('sql-loop.ts'),
      {
        env: loopEnv,
      },
    );
    loop = worker;
    const server = billing;

    const results: ScenarioResult[] = [];
    for (const distribution of DISTRIBUTION_NAMES) {
      const def = definition(database, distribution, settings);
      ctx.log(`${def.id}: ${def.title}`);
      const accounts = accountIds(distribution);
      const pick = () => accounts[Math.floor(Math.random() * accounts.length)];
      const bare: SideRun = async (seconds) => {
        const result = await worker.ask({
          type: 'run',
          seconds,
          connections: settings.connections,
          accounts,
          micros: MICROS,
        });
        return {
          count: result.count,
          seconds: result.seconds,
          latencies: result.latencies,
          non2xx: 0,
          errors: result.failures,
        };
      };
      const http: SideRun = (seconds) =>
        hammer({
          url: `${server.url}/deduct`,
          method: 'POST',
          headers: { 'X-INTERNAL-TOKEN': ctx.token, 'Content-Type': 'application/json' },
          setupRequest: (request) => ({
            ...request,
            body: JSON.stringify({ user_id: pick(), amount: AMOUNT }),
          }),
          connections: settings.connections,
          seconds,
        });
      const measured = await alternate({
        baseline: bare,
        subject: http,
        ...settings,
        log: ctx.log,
      });
      results.push(comparisonResult(def, measured));
    }
    results.push(...(await measureRoundTrips(ctx, server, database, metricsToken)));
    return results;
  } finally {
    await Promise.all([loop?.stop(), billing?.stop()]);
  }
}
