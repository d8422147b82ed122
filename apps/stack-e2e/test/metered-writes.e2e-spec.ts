import { testDatabaseAdminUrl } from '@zt/test-kit';
import { runScriptAlone as runScript } from './npm-start-stack';

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
