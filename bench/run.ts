// `npm run bench [-- options]`: measures what the guard, the internal hop, the breaker and the
// ledger cost, each as a ratio against a baseline measured in the same run, in alternating
// rounds; writes the raw results (results.json), a chart (chart.svg) and the report
// (README.md). See docs/benchmarks/README.md.
//
//   --quick           3 rounds of 0.5 s a side (the test suite runs this; numbers are noisy)
//   --out DIR         where to write (default: docs/benchmarks, or bench/results/quick for --quick)
//   --rounds N        rounds per comparison (default 5)
//   --seconds S       seconds per side and round (default 2.5)
//   --connections N   concurrent connections of the throughput scenarios (default 10)
//   --only a,b        only these groups: floor, guard, pipeline, breaker, ledger, identity,
//                     stack, user-proof
//   --no-build        do not build the services and fixtures first
//   --cpu-prof DIR    run every process with V8's CPU profiler, profiles into DIR; then
//                     `npx tsx bench/tools/profile-summary.ts DIR` says where the time went
//   --report-only F   only write README.md and chart.svg from the results file F
//   --help            print these options
//
// Run by tsx (`npm run bench`), which compiles this file as CommonJS (the repository has no
// "type": "module"): hence main() below instead of top-level await, and __dirname.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { BenchContext, Scenario } from './lib/context';
import { buildServices } from './lib/launcher';
import { describeMachine } from './lib/machine';
import { findPostgres, messageOf, postgresAdminUrl, ScratchDatabases } from './lib/postgres';
import { ProcessGroup } from './lib/processes';
import {
  formatLikeTheRepository,
  parseResults,
  type Results,
  type Settings,
  writeReport,
} from './lib/report';
import type { ScenarioResult } from './lib/result';
import * as breaker from './scenarios/breaker';
import * as floor from './scenarios/framework-floor';
import * as guard from './scenarios/guard';
import * as identity from './scenarios/identity';
import * as ledger from './scenarios/ledger';
import * as pipeline from './scenarios/pipeline';
import * as stack from './scenarios/stack';
import * as userProof from './scenarios/user-proof';

const BENCH = __dirname;
const ROOT = resolve(BENCH, '..');
const SCENARIOS: readonly Scenario[] = [
  floor,
  guard,
  pipeline,
  breaker,
  ledger,
  identity,
  stack,
  userProof,
];
// The order of the report: the issue's (floor, guard, hop and breaker, ledger, memory), each
// followed by the context comparisons that explain it; then service identity (issue 13).
const REPORT_ORDER = [
  'framework-floor',
  'framework-floor-fastify',
  'guard-memory',
  'guard-postgres',
  'guard-own-code',
  'request-logging',
  'log-writes',
  'guarded-route',
  'guarded-route-tail',
  'guarded-route-fastify',
  'guarded-route-fastify-tail',
  'internal-hop',
  'internal-hop-fastify',
  'breaker',
  'client-overhead',
  'client-axios',
  'ledger-postgres-spread',
  'ledger-postgres-hot',
  'ledger-pglite-spread',
  'ledger-pglite-hot',
  'token-issuance',
  'token-introspection',
  'rate-limit-memory',
  'rate-limit-redis',
  'guard-token-jwt',
  'user-proof-hop',
  'memory-postgres',
  'memory-pglite',
  'token-cache-hit-rate',
  'ledger-round-trips-postgres',
  'ledger-round-trips-postgres-keyed',
  'ledger-round-trips-postgres-replayed',
  'ledger-round-trips-pglite',
  'ledger-round-trips-pglite-keyed',
  'ledger-round-trips-pglite-replayed',
];

const started = Date.now();
const log = (message: string): void => {
  process.stderr.write(
    `[bench ${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${message}\n`,
  );
};

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      connections: { type: 'string' },
      only: { type: 'string' },
      'no-build': { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      'report-only': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });

  if (args.help) {
    // The options, as the comment at the top of this file lists them.
    const source = readFileSync(__filename, 'utf8');
    const usage = source.match(/^\/\/ {3}--[^\n]*(?:\n\/\/ {17}[^\n]*)*/gm) ?? [];
    process.stdout.write(
      `usage: npm run bench [-- options]\n${usage.map((line) => line.replace(/^\/\/ /gm, '')).join('\n')}\n`,
    );
    process.exit(0);
  }

  if (args['report-only']) {
    const file = resolve(args['report-only']);
    const out = resolve(args.out ?? dirname(file));
    const results = parseResults(readFileSync(file, 'utf8'));
    mkdirSync(out, { recursive: true });
    await writeReport(results, out, { resultsFile: relative(out, file) || 'results.json' });
    log(`wrote ${join(out, 'README.md')} and ${join(out, 'chart.svg')}`);
    process.exit(0);
  }

  const settings: Settings = {
    rounds: positive('rounds', args.rounds ?? (args.quick ? 3 : 5)),
    seconds: positive('seconds', args.seconds ?? (args.quick ? 0.5 : 2.5)),
    // Within a round, the two sides take turns in slices of this length (see lib/compare.ts).
    sliceSeconds: 0.25,
    warmupSeconds: args.quick ? 0.25 : 1.5,
    connections: positive('connections', args.connections ?? 10),
    idleSettleSeconds: args.quick ? 0.5 : 3,
    idleSampleSeconds: args.quick ? 0.5 : 2,
  };
  const only = args.only?.split(',').map((name) => name.trim());
  const unknown = only?.filter((name) => !SCENARIOS.some((s) => s.GROUP === name)) ?? [];
  if (unknown.length > 0) fail(`unknown group(s) in --only: ${unknown.join(', ')}`);
  const out = resolve(
    args.out ?? (args.quick ? join(BENCH, 'results', 'quick') : join(ROOT, 'docs', 'benchmarks')),
  );

  const tmp = mkdtempSync(join(tmpdir(), 'zt-bench-'));
  mkdirSync(join(tmp, 'logs'));
  const profileDir = args['cpu-prof'] ? resolve(args['cpu-prof']) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const group = new ProcessGroup(
    join(tmp, 'logs'),
    profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
  );
  let scratch: ScratchDatabases | undefined;
  let cleaning: Promise<void> | undefined;

  async function cleanUp(): Promise<void> {
    cleaning ??= (async () => {
      await group.stopAll();
      if (profileDir) {
        writeFileSync(
          join(profileDir, 'processes.json'),
          `${JSON.stringify(group.started, null, 2)}\n`,
        );
        log(`CPU profiles in ${profileDir}: npx tsx bench/tools/profile-summary.ts ${profileDir}`);
      }
      await scratch
        ?.dropAll()
        .catch((error: unknown) => log(`could not drop a scratch database: ${messageOf(error)}`));
      rmSync(tmp, { recursive: true, force: true });
    })();
    return cleaning;
  }

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping every process and dropping the scratch databases`);
      void cleanUp().finally(() => process.exit(code));
    });
  }

  try {
    if (!args['no-build']) {
      log('building the services and the fixtures (cached when nothing changed)');
      buildServices(['bench']);
    }

    const adminUrl = postgresAdminUrl();
    const postgres = await findPostgres(adminUrl);
    if (postgres.url) scratch = new ScratchDatabases(adminUrl);
    else log(`PostgreSQL scenarios will be skipped: ${postgres.reason}`);

    const ctx: BenchContext = {
      group,
      settings,
      token: randomBytes(32).toString('base64url'),
      postgres,
      scratch,
      tmp,
      log,
      paths: {
        root: ROOT,
        fixture: (name) => join(BENCH, 'fixtures', name),
        built: (name) => join(ROOT, 'dist', 'bench', name),
      },
    };
    const machine = describeMachine(ROOT);
    const scenarios: ScenarioResult[] = [];
    for (const scenario of SCENARIOS) {
      if (only && !only.includes(scenario.GROUP)) continue;
      scenarios.push(...(await scenario.run(ctx)));
    }

    const results: Results = {
      schema: 1,
      mode: args.quick ? 'quick' : 'full',
      startedAt: new Date(started).toISOString(),
      durationSeconds: Math.round((Date.now() - started) / 1000),
      command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
      machine: {
        ...machine,
        postgres: postgres.version ?? null,
        loadAverageAtEnd: loadavg().map((v) => Math.round(v * 100) / 100),
      },
      settings,
      scenarios: scenarios.sort((a, b) => rank(a.id) - rank(b.id)),
    };
    mkdirSync(out, { recursive: true });
    const resultsFile = join(out, 'results.json');
    writeFileSync(
      resultsFile,
      await formatLikeTheRepository(`${JSON.stringify(results, null, 2)}\n`, resultsFile),
    );
    await writeReport(results, out, { resultsFile: 'results.json' });
    log(`wrote ${['results.json', 'chart.svg', 'README.md'].map((f) => join(out, f)).join(', ')}`);
    for (const s of scenarios) log(summaryLine(s));
  } catch (error) {
    log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  } finally {
    await cleanUp();
  }
}

function summaryLine(s: ScenarioResult): string {
  if (s.status !== 'ok') return `${s.id}: skipped (${s.reason})`;
  const [what, m] =
    s.kind === 'memory'
      ? ['idle total MiB', s.metrics.idleTotalMiB]
      : s.kind === 'rate'
        ? ['hit rate', s.metrics.hitRate]
        : s.kind === 'count'
          ? ['per operation', s.metrics.perOperation]
          : ['ratio', s.metrics.ratio];
  const target = s.target
    ? ` target ${s.target.met ? 'met' : 'MISSED'} (${s.target.metric} ${s.target.observed})`
    : '';
  return `${s.id}: ${what} ${m.median} (${m.min}-${m.max})${target}`;
}

function rank(id: string): number {
  const index = REPORT_ORDER.indexOf(id);
  return index === -1 ? REPORT_ORDER.length : index;
}

function positive(name: string, value: string | number): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) fail(`--${name} must be a positive number`);
  return number;
}

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

void main();
