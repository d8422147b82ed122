import { launchStack, type ServiceStack } from '@zt/stack-launcher';
import {
  generateToken,
  inheritedProcessEnvironment,
  request,
  testDatabaseAdminUrl,
} from '@zt/test-kit';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScript as runInStack, type ScriptRun } from './npm-start-stack';

/** Runs a script of scripts/ with only `env` (and what a child needs) set. */
function runScript(
  script: string,
  args: string[],
  env: Record<string, string>,
): Promise<ScriptRun> {
  return runInStack(
    script,
    args,
    // No developer .env is read: the scripts look for this file, which does not exist.
    { ...inheritedProcessEnvironment(), STACK_ENV_FILE: '/nonexistent/.env', ...env },
    600_000,
  );
}

/**
 * The short seeded fault drill (`npm run drill` runs a longer one): the four services as
 * processes behind fault proxies, kill -9 and timeouts at every step of a metered write,
 * then the ledger/files checker. See docs/metered-writes.md.
 */
describe('the fault drill of metered writes', () => {
  it('injects every kind of fault and finds no difference between ledger and files', async () => {
    const database = testDatabaseAdminUrl();
    const run = await runScript(
      'drill.ts',
      ['--no-build', '--seed', '20261130', '--writes', '40'],
      database ? { DRILL_DATABASE_URL: database } : {},
    );
    const report = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}');
    console.log(`fault drill: ${run.stdout.trim()}`);
    expect({ code: run.code, error: report.error, differences: report.differences }).toEqual({
      code: 0,
      error: undefined,
      differences: [],
    });
    expect(report.acknowledged + report.cancelled + report.gave_up).toBe(40);
    // Most writes complete despite the faults: a drill that cancels everything proves nothing.
    expect(report.acknowledged).toBeGreaterThanOrEqual(30);
    expect(report.faults_injected).toBeGreaterThanOrEqual(10);
    for (const action of ['kill-backend', 'kill-upstream', 'timeout', 'reset']) {
      expect({ action, injected: report.faults_by_action[action] > 0 }).toEqual({
        action,
        injected: true,
      });
    }
    expect(report.kills['backend']).toBeGreaterThan(0);
    expect(report.kills['billing-server'] + report.kills['filesystem-server']).toBeGreaterThan(0);
    // Every write stored was charged once, every other one paid back: nothing left open.
    expect(report.check).toMatchObject({ held: 0, differences: 0 });
    expect(report.check.captured).toBe(report.check.applied);
  }, 600_000);
});

/**
 * `npm run check-writes` against real billing and filesystem processes: silent when ledger
 * and files agree, and naming each kind of difference when they do not.
 */
describe('npm run check-writes', () => {
  const token = generateToken();
  let dataDir: string;
  let stack: ServiceStack;
  let userId: string;
  const billing = () => stack.process('billing-server');
  const filesystem = () => stack.process('filesystem-server');

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'check-writes-'));
    stack = await launchStack({
      services: ['billing-server', 'filesystem-server'],
      env: { ...inheritedProcessEnvironment(), INTERNAL_SERVICE_TOKEN: token, DATA_DIR: dataDir },
    });
    userId = 'checked-user';
    expect((await billingCall('POST', '/account', { user_id: userId, tier: 'pro' })).status).toBe(
      201,
    );
  });

  afterAll(async () => {
    await stack?.stopAll();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const headers = { 'X-INTERNAL-TOKEN': token, 'X-Caller-Service': 'backend' };
  const billingCall = (method: string, path: string, json?: unknown) =>
    request(`${billing().url}${path}`, { method, json, headers });
  const hold = (id: string) =>
    billingCall('POST', '/holds', { hold_id: id, user_id: userId, amount: '0.01' });
  const store = (path: string, body: string, writeId?: string) =>
    request(`${filesystem().url}/files/${path}`, {
      method: 'PUT',
      body,
      headers: {
        ...headers,
        'X-User-ID': userId,
        'Content-Type': 'application/octet-stream',
        ...(writeId ? { 'X-Write-ID': writeId } : {}),
      },
    });
  const check = async () => {
    const run = await runScript('check-writes.ts', [], {
      INTERNAL_SERVICE_TOKEN: token,
      BILLING_SERVER_URL: billing().url,
      FILESYSTEM_SERVER_URL: filesystem().url,
    });
    return { code: run.code, report: JSON.parse(run.stdout) };
  };

  it('exits 0 with no difference when every write is settled as the filesystem says', async () => {
    expect((await hold('w-good')).status).toBe(201);
    expect((await store('good.txt', 'paid for', 'w-good')).status).toBe(201);
    expect((await billingCall('POST', '/holds/w-good/capture')).status).toBe(200);
    expect((await hold('w-never')).status).toBe(201);
    expect(
      (
        await request(`${filesystem().url}/writes/w-never/resolve`, {
          method: 'POST',
          headers: { ...headers, 'X-User-ID': userId },
        })
      ).body,
    ).toMatchObject({ outcome: 'aborted' });
    expect((await billingCall('POST', '/holds/w-never/release')).status).toBe(200);

    expect(await check()).toEqual({
      code: 0,
      report: {
        users: 1,
        holds: 2,
        captured: 1,
        released: 1,
        held: 0,
        applied: 1,
        files: 1,
        unverifiable: 0,
        differences: [],
      },
    });
  });

  it('exits 1 naming every difference: charged not stored, free writes, files nobody paid for, open holds', async () => {
    // Captured, never written.
    await hold('w-charged');
    await billingCall('POST', '/holds/w-charged/capture');
    // Written, then paid back.
    await hold('w-free');
    await store('free.txt', 'free', 'w-free');
    await billingCall('POST', '/holds/w-free/release');
    // Written as a write id that billing never held.
    await store('unheld.txt', 'no hold', 'w-unheld');
    // Written around the journal.
    await store('around.txt', 'no write id');
    // Held and left.
    await hold('w-open');
    // Paid back without asking the filesystem first.
    await hold('w-unfenced');
    await billingCall('POST', '/holds/w-unfenced/release');

    const { code, report } = await check();
    expect(code).toBe(1);
    const found = (report.differences as Array<Record<string, unknown>>).map((difference) => [
      difference['kind'],
      difference['write_id'] ?? difference['path'],
    ]);
    expect(found.sort()).toEqual(
      [
        ['charged_not_stored', 'w-charged'],
        ['file_without_paid_write', 'around.txt'],
        ['released_without_fence', 'w-unfenced'],
        ['stored_not_charged', 'w-free'],
        ['stored_without_hold', 'w-unheld'],
        ['unsettled', 'w-open'],
      ].sort(),
    );
  });

  it('counts holds older than the filesystem journal as unverifiable, never as refunds owed', async () => {
    const run = await runScript('check-writes.ts', [], {
      INTERNAL_SERVICE_TOKEN: token,
      BILLING_SERVER_URL: billing().url,
      FILESYSTEM_SERVER_URL: filesystem().url,
      // A journal that keeps nothing: every hold is older than what it remembers.
      FS_WRITE_JOURNAL_DAYS: '0',
    });
    const report = JSON.parse(run.stdout);
    // Only what the journal itself still shows: a write nobody held. No captured hold is
    // reported as a refund owed, no file as unpaid.
    expect(run.code).toBe(1);
    expect(
      (report.differences as Array<Record<string, unknown>>).map((difference) => [
        difference['kind'],
        difference['write_id'] ?? difference['path'],
      ]),
    ).toEqual([['stored_without_hold', 'w-unheld']]);
    expect(report.unverifiable).toBeGreaterThan(report.holds);
  });

  it('exits 2 with a clear message when it cannot reach the stack, printing no token', async () => {
    const run = await runScript('check-writes.ts', [], {
      INTERNAL_SERVICE_TOKEN: token,
      BILLING_SERVER_URL: 'http://127.0.0.1:1',
      FILESYSTEM_SERVER_URL: filesystem().url,
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^check-writes: .* \(is the stack running\? npm start\)\n$/);
    expect(run.stdout + run.stderr).not.toContain(token);
  });
});
