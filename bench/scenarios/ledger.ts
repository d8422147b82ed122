// 4. Ledger: POST /deduct over HTTP (the built billing server) against the same transaction
// from a bare SQL loop (fixtures/sql-loop.ts) at the same concurrency, on PostgreSQL and on
// PGlite, for deducts spread over many accounts and for one hot account.
import { cpSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import type { Environment, ServiceProcess } from '@zt/stack-launcher';
import { alternate, type SideRun } from '../lib/compare';
import { type BenchContext, scratchDatabase } from '../lib/context';
import { hammer } from '../lib/load';
import type { Worker } from '../lib/processes';
import type { Settings } from '../lib/report';
import {
  type ComparisonDefinition,
  comparisonResult,
  type ScenarioResult,
  skippedResult,
} from '../lib/result';
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
      request: 'BEGIN; UPDATE accounts ... RETURNING; INSERT INTO ledger_entries ...; COMMIT',
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
      ? { metric: 'ratio', op: '>=', value: 0.8, description: 'HTTP >= 0.8 x bare SQL deducts/s' }
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
  for (const database of DATABASE_NAMES) {
    if (database === 'postgres' && ctx.postgres.reason !== undefined) {
      for (const distribution of DISTRIBUTION_NAMES) {
        results.push(
          skippedResult(definition(database, distribution, ctx.settings), ctx.postgres.reason),
        );
      }
      continue;
    }
    results.push(...(await runOn(ctx, database)));
  }
  return results;
}

async function runOn(ctx: BenchContext, database: Database): Promise<ScenarioResult[]> {
  const { settings } = ctx;
  let billing: ServiceProcess | undefined;
  let loop: Worker | undefined;
  try {
    let loopEnv: Environment;
    if (database === 'postgres') {
      const url = await scratchDatabase(ctx);
      billing = await startBilling(ctx, 'billing-server (ledger, postgres)', { DATABASE_URL: url });
      loopEnv = { BENCH_DB_KIND: 'pg', BENCH_DB_URL: url };
    } else {
      // One initdb (slow: seconds of CPU) serves both sides: the billing server creates the
      // schema and the accounts, stops (PGlite writes everything out on close), its folder is
      // copied for the SQL loop (PGlite cannot share a folder between processes), and it
      // starts again on its own folder.
      const httpDir = mkdtempSync(join(ctx.tmp, 'ledger-http-'));
      const sqlDir = mkdtempSync(join(ctx.tmp, 'ledger-sql-'));
      const env = { DATA_DIR: httpDir };
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
    return results;
  } finally {
    await Promise.all([loop?.stop(), billing?.stop()]);
  }
}
