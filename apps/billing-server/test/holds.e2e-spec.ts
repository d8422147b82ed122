import {
  builtServiceMain,
  generateToken,
  request,
  scratchDatabaseFor,
  type ServiceProcess,
  startServiceProcess,
  testBackends,
} from '@zt/test-kit';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const main = builtServiceMain('billing-server');

interface Hold {
  hold_id: string;
  state: string;
  balance?: number;
  charge_transaction_id: string;
  refund_transaction_id: string | null;
}

describe.each(testBackends())('billing-server holds on %s', (backend) => {
  const token = generateToken();
  let service: ServiceProcess;
  let dataDir: string;
  let dropDatabase: () => Promise<void>;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'billing-holds-'));
    const scratch = await scratchDatabaseFor(backend);
    dropDatabase = scratch.drop;
    service = await startServiceProcess({
      main,
      env: {
        INTERNAL_SERVICE_TOKEN: token,
        BILLING_SERVER_PORT: '0',
        DATA_DIR: dataDir,
        DATABASE_URL: scratch.url,
      },
    });
  });

  afterAll(async () => {
    expect((await service.stop()).graceful).toBe(true);
    await dropDatabase();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const call = (method: string, path: string, json?: unknown, caller = 'backend') =>
    request(`${service.url}${path}`, {
      method,
      json,
      headers: { 'X-INTERNAL-TOKEN': token, 'X-Caller-Service': caller },
    });
  const place = (holdId: string, userId: string, amount: unknown = 1, caller?: string) =>
    call('POST', '/holds', { hold_id: holdId, user_id: userId, amount, reason: 'a write' }, caller);
  const balanceOf = async (userId: string) =>
    ((await call('GET', `/balance/${userId}`)).body as { balance: number }).balance;
  const ledgerOf = async (userId: string) =>
    (
      (await call('GET', `/ledger/${userId}?limit=100`)).body as {
        entries: Array<{ transaction_id: string; kind: string; amount: number; reason: string }>;
      }
    ).entries;
  const openAccount = async (userId: string, tier = 'pro') =>
    expect((await call('POST', '/account', { user_id: userId, tier })).status).toBe(201);
  /** The ledger still sums to the balance. */
  const expectLedgerMatches = async (userId: string) => {
    const sum = (await ledgerOf(userId)).reduce((total, entry) => total + entry.amount * 1e6, 0);
    expect(Math.round(sum)).toBe(Math.round((await balanceOf(userId)) * 1e6));
  };

  it('takes the amount at once with a deduct row, and replays the same hold to a retry', async () => {
    await openAccount('h-place');
    const first = await place('write-1', 'h-place', 2);
    expect(first.status).toBe(201);
    const hold = first.body as Hold;
    expect(hold).toMatchObject({ hold_id: 'write-1', state: 'held', amount: 2, balance: 3 });
    expect(await balanceOf('h-place')).toBe(3);
    const deducts = (await ledgerOf('h-place')).filter((entry) => entry.kind === 'deduct');
    expect(deducts).toEqual([
      expect.objectContaining({ transaction_id: hold.charge_transaction_id, amount: -2 }),
    ]);

    const again = await place('write-1', 'h-place', 2);
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toMatchObject({ state: 'held', balance: 3 });
    expect(await balanceOf('h-place')).toBe(3);
    await expectLedgerMatches('h-place');
    // The same answer as the first, also once the balance has moved on.
    await call('POST', '/top_up', { user_id: 'h-place', amount: 1 });
    expect(JSON.stringify((await place('write-1', 'h-place', 2)).body)).toBe(
      JSON.stringify(first.body),
    );
  });

  it('refuses a hold id used for another hold with 422 and changes nothing', async () => {
    expect(await place('write-1', 'h-place', 3)).toMatchObject({ status: 422 });
    await openAccount('h-other');
    expect(await place('write-1', 'h-other', 2)).toMatchObject({ status: 422 });
    expect(await balanceOf('h-place')).toBe(4);
    expect(await balanceOf('h-other')).toBe(5);
  });

  it('records nothing for insufficient funds or an unknown account, so the id stays free', async () => {
    await openAccount('h-poor', 'free');
    expect(await place('poor-1', 'h-poor', 2)).toMatchObject({
      status: 402,
      body: { error: 'insufficient funds', balance: 1 },
    });
    expect(await place('ghost-1', 'h-ghost')).toMatchObject({
      status: 404,
      body: { error: 'account not found' },
    });
    expect((await call('GET', '/holds?user_id=h-poor')).body).toEqual({
      holds: [],
      next_after: null,
    });
    await call('POST', '/top_up', { user_id: 'h-poor', amount: 1 });
    expect(await place('poor-1', 'h-poor', 2)).toMatchObject({ status: 201 });
    expect(await balanceOf('h-poor')).toBe(0);
  });

  it('captures once; a captured hold cannot be released', async () => {
    await openAccount('h-capture');
    await place('cap-1', 'h-capture');
    const captured = await call('POST', '/holds/cap-1/capture');
    expect(captured).toMatchObject({ status: 200, body: { state: 'captured' } });
    expect(await call('POST', '/holds/cap-1/capture')).toMatchObject({
      status: 200,
      body: { state: 'captured' },
    });
    expect(await call('POST', '/holds/cap-1/release')).toMatchObject({
      status: 409,
      body: { error: 'hold already captured' },
    });
    expect(await balanceOf('h-capture')).toBe(4);
    await expectLedgerMatches('h-capture');
  });

  it('releases once with one top_up row; a released hold cannot be captured', async () => {
    await openAccount('h-release');
    await place('rel-1', 'h-release');
    const released = await call('POST', '/holds/rel-1/release');
    expect(released).toMatchObject({ status: 200, body: { state: 'released', balance: 5 } });
    const refundId = (released.body as Hold).refund_transaction_id;
    expect(await call('POST', '/holds/rel-1/release')).toMatchObject({
      status: 200,
      body: { state: 'released', refund_transaction_id: refundId, balance: 5 },
    });
    expect(await call('POST', '/holds/rel-1/capture')).toMatchObject({
      status: 409,
      body: { error: 'hold already released' },
    });
    const topUps = (await ledgerOf('h-release')).filter((entry) => entry.kind === 'top_up');
    expect(topUps).toEqual([
      expect.objectContaining({
        transaction_id: refundId,
        amount: 1,
        reason: 'release of hold rel-1',
      }),
    ]);
    expect(await balanceOf('h-release')).toBe(5);
  });

  it('takes and pays back once when 20 copies of a hold, then 20 releases, arrive at once', async () => {
    await openAccount('h-burst', 'team');
    const places = await Promise.all(Array.from({ length: 20 }, () => place('burst-1', 'h-burst')));
    expect(places.map((response) => response.status).sort()).toEqual([
      200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200,
      201,
    ]);
    expect(await balanceOf('h-burst')).toBe(24);
    const releases = await Promise.all(
      Array.from({ length: 20 }, () => call('POST', '/holds/burst-1/release')),
    );
    expect(new Set(releases.map((response) => response.status))).toEqual(new Set([200]));
    expect(await balanceOf('h-burst')).toBe(25);
    const kinds = (await ledgerOf('h-burst')).map((entry) => entry.kind).sort();
    expect(kinds).toEqual(['deduct', 'opening', 'top_up']);
  });

  it('never takes a balance below zero: 50 holds of 1 from 25 leave exactly 0', async () => {
    await openAccount('h-race', 'team');
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, index) => place(`race-${index}`, 'h-race')),
    );
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 201)).toHaveLength(25);
    expect(statuses.filter((status) => status === 402)).toHaveLength(25);
    expect(await balanceOf('h-race')).toBe(0);
    await expectLedgerMatches('h-race');
  });

  it('keeps each calling service in its own namespace', async () => {
    await openAccount('h-ns');
    expect(await place('shared-id', 'h-ns', 1, 'backend')).toMatchObject({ status: 201 });
    expect(await place('shared-id', 'h-ns', 1, 'other-service')).toMatchObject({ status: 201 });
    expect(
      await call('POST', '/holds/shared-id/release', undefined, 'other-service'),
    ).toMatchObject({ status: 200 });
    expect(await call('POST', '/holds/shared-id/capture', undefined, 'backend')).toMatchObject({
      status: 200,
      body: { state: 'captured' },
    });
    const listed = (await call('GET', '/holds?user_id=h-ns', undefined, 'other-service')).body as {
      holds: Hold[];
    };
    expect(listed.holds.map((hold) => hold.state)).toEqual(['released']);
    expect(await balanceOf('h-ns')).toBe(4);
  });

  it('lists held holds oldest first, page by page, and only those old enough', async () => {
    await openAccount('h-list', 'team');
    for (const id of ['list-a', 'list-b', 'list-c']) await place(id, 'h-list');
    await call('POST', '/holds/list-b/capture');
    const firstPage = await call('GET', '/holds?state=held&user_id=h-list&limit=1');
    expect(firstPage.status).toBe(200);
    const page = firstPage.body as { holds: Hold[]; next_after: string };
    expect(page.holds.map((hold) => hold.hold_id)).toEqual(['list-a']);
    const rest = (await call('GET', `/holds?state=held&user_id=h-list&after=${page.next_after}`))
      .body as { holds: Hold[]; next_after: string | null };
    expect(rest).toMatchObject({ next_after: null });
    expect(rest.holds.map((hold) => hold.hold_id)).toEqual(['list-c']);
    expect(
      (await call('GET', '/holds?state=held&user_id=h-list&older_than_seconds=3600')).body,
    ).toEqual({ holds: [], next_after: null });
  });

  it('refuses bad input with 400 and unknown holds with 404, changing nothing', async () => {
    await openAccount('h-bad');
    const bad: unknown[] = [
      { hold_id: 'has space', user_id: 'h-bad', amount: 1 },
      { hold_id: 'x'.repeat(65), user_id: 'h-bad', amount: 1 },
      { hold_id: 'ok', user_id: 'h-bad', amount: 0 },
      { hold_id: 'ok', user_id: 'h-bad', amount: '1e0' },
      { hold_id: 'ok', user_id: 'h-bad', amount: 1, tier: 'team' },
      { user_id: 'h-bad', amount: 1 },
    ];
    for (const body of bad) {
      expect({ body, status: (await call('POST', '/holds', body)).status }).toEqual({
        body,
        status: 400,
      });
    }
    expect(await call('POST', '/holds/has%20space/capture')).toMatchObject({
      status: 400,
      body: { error: 'invalid hold_id' },
    });
    expect(await call('POST', '/holds/nothing-here/release')).toMatchObject({
      status: 404,
      body: { error: 'hold not found' },
    });
    for (const query of [
      'state=open',
      'limit=0',
      'limit=1001',
      'after=x',
      'older_than_seconds=-1',
      'x=1',
    ]) {
      expect({ query, status: (await call('GET', `/holds?${query}`)).status }).toEqual({
        query,
        status: 400,
      });
    }
    expect(await balanceOf('h-bad')).toBe(5);
    expect(await ledgerOf('h-bad')).toHaveLength(1);
  });

  it(`refuses holds without the internal credential (${backend})`, async () => {
    const response = await request(`${service.url}/holds`, {
      method: 'POST',
      json: { hold_id: 'x', user_id: 'h-place', amount: 1 },
    });
    expect(response).toMatchObject({ status: 403, body: { error: 'Forbidden' } });
  });
});
