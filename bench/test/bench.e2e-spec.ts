import { workspaceRoot } from '@zt/test-kit';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

interface Scenario {
  readonly id: string;
  readonly kind: 'comparison' | 'memory' | 'rate' | 'count';
  readonly counter?: 'round-trips' | 'allocation';
  readonly status: 'ok' | 'skipped';
  readonly reason?: string;
  readonly rounds?: unknown[];
  readonly metrics?: Record<string, Spread>;
  readonly services?: Record<string, Record<string, Spread>>;
  readonly counts?: Record<string, number>;
  readonly target?: { readonly met: boolean; readonly observed: number };
}

interface Results {
  readonly mode: string;
  readonly machine: Record<string, unknown>;
  readonly settings: Record<string, number>;
  readonly scenarios: Scenario[];
}

const COMPARISONS = [
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
];
const MEMORY = ['memory-postgres', 'memory-pglite'];
const RATES = ['token-cache-hit-rate'];
const ALLOCATIONS = [
  'allocation-nest-hello',
  'allocation-guarded-route',
  'allocation-guarded-route-fastify',
];
const ROUND_TRIPS = [
  'ledger-round-trips-postgres',
  'ledger-round-trips-postgres-keyed',
  'ledger-round-trips-postgres-replayed',
  'ledger-round-trips-pglite',
  'ledger-round-trips-pglite-keyed',
  'ledger-round-trips-pglite-replayed',
];
// What may be skipped off CI: the scenarios that need a PostgreSQL or a Redis server.
const NEEDS_A_SERVER = new Set([
  ...ALLOCATIONS,
  'guard-postgres',
  'guarded-route',
  'guarded-route-tail',
  'guarded-route-fastify',
  'guarded-route-fastify-tail',
  'ledger-postgres-spread',
  'ledger-postgres-hot',
  'ledger-round-trips-postgres',
  'ledger-round-trips-postgres-keyed',
  'ledger-round-trips-postgres-replayed',
  'memory-postgres',
  'rate-limit-redis',
]);
const SERVICES = ['billing-server', 'auth-server', 'filesystem-server', 'backend'];

function expectSpread(spread: Spread | undefined): void {
  expect(spread).toEqual({
    median: expect.any(Number),
    min: expect.any(Number),
    max: expect.any(Number),
  });
  const { median, min, max } = spread as Spread;
  for (const value of [median, min, max]) expect(Number.isFinite(value)).toBe(true);
  expect(min).toBeLessThanOrEqual(median);
  expect(median).toBeLessThanOrEqual(max);
}

/**
 * `npm run bench -- --quick`, as a user would run it: every scenario runs (a few seconds
 * each) and the report is written. What is checked is the shape of what it writes, never a
 * time or a ratio: those depend on the machine and on what else runs on it.
 */
describe('npm run bench -- --quick', () => {
  const root = workspaceRoot();
  const out = mkdtempSync(join(tmpdir(), 'bench-e2e-'));
  // CI has PostgreSQL and Redis: there, a skipped scenario is a failure.
  const serversRequired = process.env['CI'] === 'true';
  let results: Results;
  let byId: Map<string, Scenario>;

  beforeAll(async () => {
    // --no-build: this target's dependsOn has just built the services and the fixtures.
    await run('npm', ['run', 'bench', '--', '--quick', '--no-build', '--out', out], {
      cwd: root,
      // A cap for a hung run, not a speed check: on a busy 2-core machine it has taken ~280 s.
      timeout: 600_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
    byId = new Map(results.scenarios.map((scenario) => [scenario.id, scenario]));
  }, 620_000);

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('reports every scenario, in quick mode, with the machine it ran on', () => {
    expect(results.mode).toBe('quick');
    expect(results.scenarios.map((scenario) => scenario.id)).toEqual([
      ...COMPARISONS,
      ...MEMORY,
      ...RATES,
      ...ROUND_TRIPS,
      ...ALLOCATIONS,
    ]);
    expect(results.machine).toMatchObject({ cores: expect.any(Number), node: process.version });
  });

  it('skips only the PostgreSQL and Redis scenarios, only without the server, and never on CI', () => {
    const notRun = results.scenarios.filter((scenario) => scenario.status !== 'ok');
    for (const scenario of notRun) {
      expect(scenario).toMatchObject({ status: 'skipped', reason: expect.any(String) });
    }
    const wronglySkipped = notRun
      .filter((scenario) => serversRequired || !NEEDS_A_SERVER.has(scenario.id))
      .map((scenario) => `${scenario.id}: ${scenario.reason}`);
    expect(wronglySkipped).toEqual([]);
  });

  it.each(COMPARISONS)('%s: every round measured, median and min-max of each metric', (id) => {
    const scenario = byId.get(id) as Scenario;
    if (scenario.status === 'skipped') return;
    expect(scenario.rounds).toHaveLength(results.settings['rounds']);
    for (const metric of ['ratio', 'p50DiffMs', 'p99DiffMs', 'baselineRps', 'subjectRps']) {
      expectSpread(scenario.metrics?.[metric]);
    }
    if (scenario.target) expect(scenario.target.met).toEqual(expect.any(Boolean));
  });

  it.each(MEMORY)('%s: idle and peak memory of each service, and their total', (id) => {
    const scenario = byId.get(id) as Scenario;
    if (scenario.status === 'skipped') return;
    expectSpread(scenario.metrics?.['idleTotalMiB']);
    expectSpread(scenario.metrics?.['loadPeakTotalMiB']);
    for (const service of SERVICES) {
      expectSpread(scenario.services?.[service]?.['idleMiB']);
      expectSpread(scenario.services?.[service]?.['loadPeakMiB']);
    }
    expect(scenario.target?.met).toEqual(expect.any(Boolean));
  });

  it.each(RATES)('%s: the hit rate of each window, and the counts by source', (id) => {
    const scenario = byId.get(id) as Scenario;
    if (scenario.status === 'skipped') return;
    expectSpread(scenario.metrics?.['hitRate']);
    const { min, max } = scenario.metrics?.['hitRate'] as Spread;
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThanOrEqual(1);
    expect(scenario.counts).toEqual({
      cached: expect.any(Number),
      fetched: expect.any(Number),
      stale: expect.any(Number),
      failed: expect.any(Number),
    });
  });

  it.each(ALLOCATIONS)('%s: bytes allocated per request in each window, and the totals', (id) => {
    const scenario = byId.get(id) as Scenario;
    if (scenario.status === 'skipped') return;
    expect(scenario).toMatchObject({ kind: 'count', counter: 'allocation' });
    expectSpread(scenario.metrics?.['perOperation']);
    // Answering a request over HTTP allocates at least its request and response objects.
    expect(scenario.metrics?.['perOperation']?.min).toBeGreaterThan(1024);
    expect(scenario.counts).toEqual({
      operations: expect.any(Number),
      counted: expect.any(Number),
    });
    expect(scenario.counts?.['counted']).toBeGreaterThan(scenario.counts?.['operations'] ?? 0);
  });

  it.each(ROUND_TRIPS)('%s: round trips per deduct in each window, and the totals', (id) => {
    const scenario = byId.get(id) as Scenario;
    if (scenario.status === 'skipped') return;
    expectSpread(scenario.metrics?.['perOperation']);
    // Every deduct reaches the database at least once.
    expect(scenario.metrics?.['perOperation']?.min).toBeGreaterThanOrEqual(1);
    expect(scenario.counts).toEqual({
      operations: expect.any(Number),
      counted: expect.any(Number),
    });
    expect(scenario.target?.met).toEqual(expect.any(Boolean));
  });

  it('writes the README with the table and an SVG chart drawn from the JSON', () => {
    const readme = readFileSync(join(out, 'README.md'), 'utf8');
    const chart = readFileSync(join(out, 'chart.svg'), 'utf8');
    expect(readme).toContain('## Machine');
    expect(readme).toContain('## How to rerun');
    expect(readme).toContain('![');
    expect(readme).toContain('(chart.svg)');
    expect(chart.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(chart.trimEnd().endsWith('</svg>')).toBe(true);
    for (const [index, id] of COMPARISONS.entries()) {
      expect(readme).toMatch(new RegExp(`^\\| ${index + 1} +\\| `, 'm'));
      expect(readme).toContain(`### ${id}`);
      expect(chart).toContain(`>${id}</text>`);
    }
    for (const id of [...RATES, ...ALLOCATIONS, ...ROUND_TRIPS])
      expect(readme).toContain(`### ${id}`);
  });

  it('regenerates the same README and chart from results.json alone (--report-only)', async () => {
    const again = mkdtempSync(join(tmpdir(), 'bench-e2e-report-'));
    try {
      await run(
        'npm',
        ['run', 'bench', '--', '--report-only', join(out, 'results.json'), '--out', again],
        { cwd: root, timeout: 60_000 },
      );
      expect(readFileSync(join(again, 'chart.svg'), 'utf8')).toBe(
        readFileSync(join(out, 'chart.svg'), 'utf8'),
      );
      const readme = readFileSync(join(again, 'README.md'), 'utf8');
      expect(readme).toMatch(/^\| 1 +\| Framework floor/m);
    } finally {
      rmSync(again, { recursive: true, force: true });
    }
  });
});
