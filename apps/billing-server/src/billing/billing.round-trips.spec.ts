import { type Database, openDatabase, runMigrations } from '@zt/database';
import { scratchDatabaseFor, testBackends } from '@zt/test-kit';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { BILLING_MIGRATIONS } from '../database/billing.migrations';
import type { BalanceChangeResult, Replayable } from './billing-outcomes';
import { BillingRepository } from './billing.repository';
import { BillingService } from './billing.service';

const CREDIT = 1_000_000n;

// A deduct or top-up is one statement (migration 005's functions), so one round trip to the
// database whatever it ends in, with or without an Idempotency-Key.
describe.each(testBackends())('billing round trips on %s', (backend) => {
  let db: Database;
  let databaseUrl: string | undefined;
  let drop: () => Promise<void>;
  let repository: BillingRepository;
  let sut: BillingService;

  beforeAll(async () => {
    const scratch = await scratchDatabaseFor(backend);
    drop = scratch.drop;
    databaseUrl = scratch.url;
    db = await openDatabase({ url: scratch.url, schema: 'billing' });
    await runMigrations(db, BILLING_MIGRATIONS);
    repository = new BillingRepository(db);
    sut = new BillingService(repository, 48);
  });

  afterAll(async () => {
    await db.close();
    await drop();
  });

  /**
   * Runs `work` and answers its result with the round trips it made: the database's own count,
   * checked on PostgreSQL against the driver's calls (every round trip is a `client.query`).
   */
  async function counted<T>(work: () => Promise<T>): Promise<{ result: T; roundTrips: number }> {
    const driver = jest.spyOn(Client.prototype, 'query');
    try {
      const before = db.roundTrips;
      const result = await work();
      const roundTrips = db.roundTrips - before;
      if (backend === 'postgres') expect(driver).toHaveBeenCalledTimes(roundTrips);
      return { result, roundTrips };
    } finally {
      driver.mockRestore();
    }
  }

  const change = (kind: 'deduct' | 'top_up', userId: string, micros: bigint) => ({
    kind,
    userId,
    micros,
    reason: 'round trips',
  });

  async function ledgerRows(userId: string): Promise<number> {
    const result = await db.query('SELECT 1 FROM ledger_entries WHERE user_id = $1', [userId]);
    return result.rowCount;
  }

  it('deducts and tops up in one round trip, applied or refused, without a key', async () => {
    await repository.createAccount('plain-user', 'pro', 5n * CREDIT, randomUUID());
    const cases: Array<[ReturnType<typeof change>, BalanceChangeResult['kind']]> = [
      [change('deduct', 'plain-user', CREDIT), 'applied'],
      [change('deduct', 'plain-user', 100n * CREDIT), 'insufficient_funds'],
      [change('top_up', 'plain-user', 2n * CREDIT), 'applied'],
      [change('top_up', 'plain-user', 10n ** 15n), 'balance_limit_exceeded'],
      [change('deduct', 'nobody-here', CREDIT), 'account_not_found'],
      [change('top_up', 'nobody-here', CREDIT), 'account_not_found'],
    ];
    for (const [request, expected] of cases) {
      const { result, roundTrips } = await counted(() => sut.changeBalance(request, undefined));
      expect(result.outcome.kind).toBe(expected);
      expect(roundTrips).toBe(1);
    }
    expect((await repository.findAccount('plain-user'))?.balance).toBe(6n * CREDIT);
    expect(await ledgerRows('plain-user')).toBe(3); // opening, one deduct, one top-up
  });

  it('deducts and tops up in one round trip with a key: first time, replay and reuse', async () => {
    await repository.createAccount('keyed-user', 'pro', 5n * CREDIT, randomUUID());
    const key = (name: string) => ({ caller: 'backend', key: name });
    const steps: Array<
      [ReturnType<typeof change>, string, (result: Replayable<BalanceChangeResult>) => void]
    > = [
      [
        change('deduct', 'keyed-user', CREDIT),
        'd-1',
        (r) => expect(r).toMatchObject({ outcome: { kind: 'applied' }, replayed: false }),
      ],
      [
        change('deduct', 'keyed-user', CREDIT),
        'd-1',
        (r) => expect(r).toMatchObject({ outcome: { kind: 'applied' }, replayed: true }),
      ],
      [
        change('top_up', 'keyed-user', CREDIT),
        'd-1',
        (r) => expect(r.outcome.kind).toBe('idempotency_key_reused'),
      ],
      [
        change('top_up', 'keyed-user', 3n * CREDIT),
        't-1',
        (r) => expect(r).toMatchObject({ outcome: { kind: 'applied' }, replayed: false }),
      ],
      [
        change('deduct', 'keyed-user', 100n * CREDIT),
        'd-2',
        (r) =>
          expect(r).toEqual({
            outcome: { kind: 'insufficient_funds', balance: 7n * CREDIT },
            replayed: false,
          }),
      ],
      [
        change('deduct', 'keyed-user', 100n * CREDIT),
        'd-2',
        (r) => expect(r).toMatchObject({ outcome: { kind: 'insufficient_funds' }, replayed: true }),
      ],
      [
        change('top_up', 'keyed-user', 10n ** 15n),
        't-2',
        (r) => expect(r.outcome.kind).toBe('balance_limit_exceeded'),
      ],
      [
        change('deduct', 'keyed-nobody', CREDIT),
        'd-3',
        (r) => expect(r.outcome.kind).toBe('account_not_found'),
      ],
    ];
    for (const [request, name, check] of steps) {
      const { result, roundTrips } = await counted(() => sut.changeBalance(request, key(name)));
      check(result);
      expect(roundTrips).toBe(1);
    }
    expect((await repository.findAccount('keyed-user'))?.balance).toBe(7n * CREDIT);
    expect(await ledgerRows('keyed-user')).toBe(3); // opening, d-1, t-1
    // A refusal at the balance limit is not remembered: the key stays free.
    const free = await db.query("SELECT 1 FROM idempotency_keys WHERE key = 't-2'");
    expect(free.rowCount).toBe(0);
  });

  it('remembers outcomes in the text the service wrote before migration 005', async () => {
    await repository.createAccount('text-user', 'pro', 5n * CREDIT, randomUUID());
    const applied = await sut.changeBalance(change('deduct', 'text-user', CREDIT), {
      caller: 'backend',
      key: 'text-1',
    });
    const refused = await sut.changeBalance(change('deduct', 'text-user', 100n * CREDIT), {
      caller: 'backend',
      key: 'text-2',
    });
    await sut.changeBalance(change('deduct', 'text-nobody', CREDIT), {
      caller: 'backend',
      key: 'text-3',
    });
    const stored = await db.query<{ key: string; outcome: string }>(
      "SELECT key, outcome FROM idempotency_keys WHERE key LIKE 'text-%' ORDER BY key",
    );
    const transactionId =
      applied.outcome.kind === 'applied' ? applied.outcome.transactionId : 'missing';
    expect(refused.outcome).toEqual({ kind: 'insufficient_funds', balance: 4n * CREDIT });
    expect(stored.rows).toEqual([
      {
        key: 'text-1',
        outcome: JSON.stringify({
          kind: 'applied',
          user_id: 'text-user',
          balance: '4000000',
          transaction_id: transactionId,
        }),
      },
      {
        key: 'text-2',
        outcome: JSON.stringify({ kind: 'insufficient_funds', balance: '4000000' }),
      },
      { key: 'text-3', outcome: JSON.stringify({ kind: 'account_not_found' }) },
    ]);
  });

  if (backend === 'postgres') {
    it('answers in_progress in one round trip while another session holds the key, and writes nothing', async () => {
      await repository.createAccount('busy-user', 'pro', 5n * CREDIT, randomUUID());
      const holder = new Client({ connectionString: databaseUrl });
      await holder.connect();
      try {
        await holder.query(
          "SELECT pg_advisory_lock(hashtextextended('idempotency/backend/busy-1', 0))",
        );
        const request = change('deduct', 'busy-user', CREDIT);
        const busy = await counted(() =>
          sut.changeBalance(request, { caller: 'backend', key: 'busy-1' }),
        );
        expect(busy).toEqual({
          result: { outcome: { kind: 'in_progress' }, replayed: false },
          roundTrips: 1,
        });
        expect(await ledgerRows('busy-user')).toBe(1);
        await holder.query(
          "SELECT pg_advisory_unlock(hashtextextended('idempotency/backend/busy-1', 0))",
        );
        const done = await sut.changeBalance(request, { caller: 'backend', key: 'busy-1' });
        expect(done).toMatchObject({ outcome: { kind: 'applied' }, replayed: false });
        expect(await ledgerRows('busy-user')).toBe(2);
      } finally {
        await holder.end();
      }
    });
  }
});
