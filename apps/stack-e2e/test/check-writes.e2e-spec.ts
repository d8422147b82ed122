import type { ServiceAudience } from '@zt/contracts';
import { launchStack, type ServiceName, type ServiceStack } from '@zt/stack-launcher';
import { inheritedProcessEnvironment, request, StackCredentials } from '@zt/test-kit';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScriptAlone as runScript } from './npm-start-stack';

/**
 * `npm run check-writes` against real billing and filesystem processes: silent when ledger
 * and files agree, and naming each kind of difference when they do not. In the mode
 * E2E_INTERNAL_AUTH_MODE names (npm test runs it in token and token+jwt; with service
 * identity the auth server issues the tokens, and the script reads as the backend, whose
 * writes it checks).
 */
describe('npm run check-writes', () => {
  const credentials = new StackCredentials();
  const token = credentials.internalToken;
  let dataDir: string;
  let stack: ServiceStack;
  let userId: string;
  const billing = () => stack.process('billing-server');
  const filesystem = () => stack.process('filesystem-server');
  const authUrl = () => stack.process('auth-server').url;
  /** What the script reads from .env (npm start writes every client's secret there). */
  const scriptEnv = () => ({
    ...credentials.environment(),
    BILLING_SERVER_URL: billing().url,
    FILESYSTEM_SERVER_URL: filesystem().url,
    ...(credentials.mode === 'token' ? {} : { AUTH_SERVER_URL: authUrl() }),
  });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'check-writes-'));
    const services: ServiceName[] = ['billing-server', 'filesystem-server'];
    // The issuer of the service tokens, when the mode takes them.
    if (credentials.mode !== 'token') services.push('auth-server');
    stack = await launchStack({
      services,
      env: { ...inheritedProcessEnvironment(), ...credentials.environment(), DATA_DIR: dataDir },
    });
    userId = 'checked-user';
    const opened = await request(`${billing().url}/account`, {
      method: 'POST',
      json: { user_id: userId, tier: 'pro' },
      headers: await internal('auth-server', 'billing-server'),
    });
    expect(opened.status).toBe(201);
  });

  afterAll(async () => {
    await stack?.stopAll();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** A call as `clientId` (in token mode the shared token; the backend names itself too). */
  const internal = async (clientId: 'backend' | 'auth-server', audience: ServiceAudience) => ({
    ...(credentials.mode === 'token'
      ? {}
      : await credentials.headers(authUrl(), clientId, audience)),
    'X-INTERNAL-TOKEN': token,
    'X-Caller-Service': clientId,
  });
  const billingCall = async (method: string, path: string, json?: unknown) =>
    request(`${billing().url}${path}`, {
      method,
      json,
      headers: await internal('backend', 'billing-server'),
    });
  const hold = (id: string) =>
    billingCall('POST', '/holds', { hold_id: id, user_id: userId, amount: '0.01' });
  const store = async (path: string, body: string, writeId?: string) =>
    request(`${filesystem().url}/files/${path}`, {
      method: 'PUT',
      body,
      headers: {
        ...(await internal('backend', 'filesystem-server')),
        'X-User-ID': userId,
        'Content-Type': 'application/octet-stream',
        ...(writeId ? { 'X-Write-ID': writeId } : {}),
      },
    });
  const check = async () => {
    const run = await runScript('check-writes.ts', [], scriptEnv());
    // Exit 2 prints no report, only why.
    if (run.code === 2) throw new Error(`check-writes exited 2: ${run.stderr}`);
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
          headers: { ...(await internal('backend', 'filesystem-server')), 'X-User-ID': userId },
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
      ...scriptEnv(),
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
      ...scriptEnv(),
      BILLING_SERVER_URL: 'http://127.0.0.1:1',
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^check-writes: .* \(is the stack running\? npm start\)\n$/);
    for (const secret of credentials.secrets()) {
      expect(run.stdout + run.stderr).not.toContain(secret);
    }
  });
});
