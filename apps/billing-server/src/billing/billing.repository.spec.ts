import { type Database, openDatabase, runMigrations } from '@zt/database';
import { scratchDatabaseFor, testBackends } from '@zt/test-kit';
import { createHash, randomUUID } from 'node:crypto';
import { MAX_BALANCE_MICROS } from '@zt/contracts';
import { BILLING_MIGRATIONS } from '../database/billing.migrations';
import { BillingRepository } from './billing.repository';
import { BillingService } from './billing.service';

const CREDIT = 1_000_000n;

describe.each(testBackends())('billing ledger on %s', (backend) => {
  let db: Database;
  let drop: () => Promise<void>;
  let sut: BillingRepository;
  let service: BillingService;

  beforeAll(async () => {
    const scratch = await scratchDatabaseFor(backend);
    drop = scratch.drop;
    db = await openDatabase({ url: scratch.url, schema: 'billing' });
    await runMigrations(db, BILLING_MIGRATIONS);
    sut = new BillingRepository(db);
    service = new BillingService(sut, 48);
  });

  afterAll(async () => {
    await db.close();
    await drop();
  });

  async function ledgerSum(userId: string): Promise<bigint> {
    const result = await db.query<{ total: bigint }>(
      'SELECT coalesce(sum(amount), 0)::bigint AS total FROM ledger_entries WHERE user_id = $1',
      [userId],
    );
    return result.rows[0].total;
  }

  async function ledgerCount(userId: string): Promise<number> {
    const result = await db.query<{ n: bigint }>(
      'SELECT count(*)::bigint AS n FROM ledger_entries WHERE user_id = $1',
      [userId],
    );
    return Number(result.rows[0].n);
  }

  it('applies the migrations once', async () => {
    expect(await runMigrations(db, BILLING_MIGRATIONS)).toEqual([]);
  });

  it('opens an account with its opening ledger entry, and refuses a second one', async () => {
    const account = await sut.createAccount('opening-user', 'team', 25n * CREDIT, randomUUID());
    expect(account).toEqual({ userId: 'opening-user', tier: 'team', balance: 25n * CREDIT });
    expect(await sut.createAccount('opening-user', 'free', CREDIT, randomUUID())).toBeUndefined();
    expect(await sut.findAccount('opening-user')).toEqual(account);
    const [entry] = await sut.listLedger('opening-user', 10, undefined);
    expect(entry).toMatchObject({
      kind: 'opening',
      amount: 25n * CREDIT,
      balanceAfter: 25n * CREDIT,
      reason: null,
    });
  });

  it('lets 10 of 50 concurrent deducts of 10 from 100 succeed and leaves exactly 0', async () => {
    await sut.createAccount('hot-user', 'free', CREDIT, randomUUID());
    await db.query('UPDATE accounts SET balance = $1::bigint WHERE user_id = $2', [
      (100n * CREDIT).toString(),
      'hot-user',
    ]);
    // Keep the ledger equal to the balance after the direct update above.
    await sut.applyChange({
      kind: 'top_up',
      userId: 'hot-user',
      micros: 1n,
      reason: 'fixture',
      transactionId: randomUUID(),
    });
    await sut.transaction((tx) =>
      sut.applyChange(
        {
          kind: 'deduct',
          userId: 'hot-user',
          micros: 1n,
          reason: 'fixture',
          transactionId: randomUUID(),
        },
        tx,
      ),
    );

    const outcomes = await Promise.all(
      Array.from({ length: 50 }, () =>
        service.changeBalance(
          { kind: 'deduct', userId: 'hot-user', micros: 10n * CREDIT, reason: undefined },
          undefined,
        ),
      ),
    );
    const kinds = outcomes.map(({ outcome }) => outcome.kind);
    expect(kinds.filter((kind) => kind === 'applied')).toHaveLength(10);
    expect(kinds.filter((kind) => kind === 'insufficient_funds')).toHaveLength(40);
    expect((await sut.findAccount('hot-user'))?.balance).toBe(0n);
    const deducts = await db.query(
      "SELECT 1 FROM ledger_entries WHERE user_id = 'hot-user' AND kind = 'deduct' AND amount = $1::bigint",
      [(-10n * CREDIT).toString()],
    );
    expect(deducts.rowCount).toBe(10);
  });

  it('keeps the ledger sum equal to the balance through every kind of change', async () => {
    await sut.createAccount('sum-user', 'pro', 5n * CREDIT, randomUUID());
    const changes: Array<['deduct' | 'top_up', bigint]> = [
      ['deduct', 1_250_000n],
      ['top_up', 3n],
      ['deduct', 100n * CREDIT], // refused: insufficient
      ['top_up', 7n * CREDIT],
      ['deduct', 10_750_003n], // exactly everything
    ];
    for (const [kind, micros] of changes) {
      await service.changeBalance({ kind, userId: 'sum-user', micros, reason: 'test' }, undefined);
      const balance = (await sut.findAccount('sum-user'))?.balance;
      expect(await ledgerSum('sum-user')).toBe(balance);
    }
    expect((await sut.findAccount('sum-user'))?.balance).toBe(0n);
    expect(await ledgerCount('sum-user')).toBe(5); // opening + 4 applied; the refused one wrote nothing
  });

  it('refuses a top-up above the balance limit and writes nothing', async () => {
    await sut.createAccount('rich-user', 'free', CREDIT, randomUUID());
    await db.query('UPDATE accounts SET balance = $1::bigint WHERE user_id = $2', [
      (MAX_BALANCE_MICROS - CREDIT).toString(),
      'rich-user',
    ]);
    const over = await service.changeBalance(
      { kind: 'top_up', userId: 'rich-user', micros: 2n * CREDIT, reason: undefined },
      undefined,
    );
    expect(over).toEqual({ outcome: { kind: 'balance_limit_exceeded' }, replayed: false });
    const exact = await service.changeBalance(
      { kind: 'top_up', userId: 'rich-user', micros: CREDIT, reason: undefined },
      undefined,
    );
    expect(exact.outcome).toMatchObject({ kind: 'applied', balance: MAX_BALANCE_MICROS });
    expect((await sut.findAccount('rich-user'))?.balance).toBe(MAX_BALANCE_MICROS);
    expect(await ledgerCount('rich-user')).toBe(2);
  });

  it('answers account_not_found for an unknown account and writes nothing', async () => {
    const result = await service.changeBalance(
      { kind: 'deduct', userId: 'nobody', micros: CREDIT, reason: undefined },
      undefined,
    );
    expect(result).toEqual({ outcome: { kind: 'account_not_found' }, replayed: false });
    expect(await ledgerCount('nobody')).toBe(0);
  });

  it('replays an idempotent change without a second ledger entry, and refuses the key for another request', async () => {
    await sut.createAccount('idem-user', 'pro', 5n * CREDIT, randomUUID());
    const key = { caller: 'backend', key: 'charge-1' };
    const change = {
      kind: 'deduct' as const,
      userId: 'idem-user',
      micros: CREDIT,
      reason: 'file write',
    };
    const first = await service.changeBalance(change, key);
    const again = await service.changeBalance(change, key);
    expect(first).toEqual({
      outcome: {
        kind: 'applied',
        userId: 'idem-user',
        balance: 4n * CREDIT,
        transactionId: expect.any(String),
      },
      replayed: false,
    });
    expect(again).toEqual({ ...first, replayed: true });
    expect(await ledgerCount('idem-user')).toBe(2);
    const reused = { outcome: { kind: 'idempotency_key_reused' }, replayed: false };
    expect(await service.changeBalance({ ...change, micros: 2n * CREDIT }, key)).toEqual(reused);
    expect(await service.changeBalance({ ...change, kind: 'top_up' }, key)).toEqual(reused);
    // Another caller's namespace: the same key is a different request.
    expect(
      (await service.changeBalance(change, { caller: 'auth-server', key: 'charge-1' })).replayed,
    ).toBe(false);
    expect(await ledgerCount('idem-user')).toBe(3);
  });

  it('charges once when the same idempotent deduct arrives 20 times at once', async () => {
    await sut.createAccount('race-user', 'team', 25n * CREDIT, randomUUID());
    const change = {
      kind: 'deduct' as const,
      userId: 'race-user',
      micros: CREDIT,
      reason: undefined,
    };
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        service.changeBalance(change, { caller: 'backend', key: 'same' }),
      ),
    );
    // Each either got the one outcome (first or replayed) or in_progress while the first ran.
    const applied = results.filter(({ outcome }) => outcome.kind === 'applied');
    expect(applied.filter(({ replayed }) => !replayed)).toHaveLength(1);
    expect(
      new Set(
        applied.map(({ outcome }) => JSON.stringify(outcome, (_, value: unknown) => String(value))),
      ).size,
    ).toBe(1);
    for (const { outcome } of results) expect(['applied', 'in_progress']).toContain(outcome.kind);
    expect((await sut.findAccount('race-user'))?.balance).toBe(24n * CREDIT);
    expect(await ledgerCount('race-user')).toBe(2);
  });

  it('refuses to change or remove a ledger entry, and to take a balance below zero', async () => {
    await sut.createAccount('guarded-user', 'free', CREDIT, randomUUID());
    await expect(
      db.query("UPDATE ledger_entries SET amount = 0 WHERE user_id = 'guarded-user'"),
    ).rejects.toThrow(/append-only/);
    await expect(
      db.query("DELETE FROM ledger_entries WHERE user_id = 'guarded-user'"),
    ).rejects.toThrow(/append-only/);
    await expect(
      db.query("UPDATE accounts SET balance = -1 WHERE user_id = 'guarded-user'"),
    ).rejects.toThrow(/check/i);
    expect(await ledgerCount('guarded-user')).toBe(1);
  });

  it('pages the ledger newest first', async () => {
    await sut.createAccount('page-user', 'free', CREDIT, randomUUID());
    for (let i = 1; i <= 4; i += 1) {
      await service.changeBalance(
        { kind: 'top_up', userId: 'page-user', micros: BigInt(i), reason: `t${i}` },
        undefined,
      );
    }
    const first = await sut.listLedger('page-user', 3, undefined);
    expect(first.map((entry) => entry.reason)).toEqual(['t4', 't3', 't2']);
    const rest = await sut.listLedger('page-user', 3, first[2].seq);
    expect(rest.map((entry) => entry.reason)).toEqual(['t1', null]);
  });

  it('counts subscriptions per tier', async () => {
    const counts = await sut.countByTier();
    expect(Object.keys(counts).sort()).toEqual(['free', 'pro', 'team']);
    const total = await db.query<{ n: bigint }>('SELECT count(*)::bigint AS n FROM accounts');
    expect(counts.free + counts.pro + counts.team).toBe(Number(total.rows[0].n));
  });

  it('forgets idempotency keys only after their lifetime', async () => {
    await sut.createAccount('ttl-user', 'free', CREDIT, randomUUID());
    await service.changeBalance(
      { kind: 'top_up', userId: 'ttl-user', micros: 1n, reason: undefined },
      { caller: 'backend', key: 'old' },
    );
    expect(await sut.purgeIdempotencyKeys(24)).toBe(0);
    await db.query(
      "UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'old'",
    );
    expect(await sut.purgeIdempotencyKeys(24)).toBe(1);
  });

  it('turns the answers remembered before outcomes (migration 004) into the same outcomes', async () => {
    const scratch = await scratchDatabaseFor(backend);
    const old = await openDatabase({ url: scratch.url, schema: 'billing' });
    try {
      await runMigrations(old, BILLING_MIGRATIONS.slice(0, 3));
      await new BillingRepository(old).createAccount(
        'legacy-user',
        'pro',
        5n * CREDIT,
        randomUUID(),
      );
      const hash = (micros: bigint): string =>
        createHash('sha256')
          .update(JSON.stringify(['legacy-user', micros.toString(), null]))
          .digest('hex');
      const remembered: Array<[string, bigint, number, string]> = [
        [
          'paid',
          CREDIT,
          200,
          '{"user_id":"legacy-user","balance":4.000001,"transaction_id":"t-1"}',
        ],
        ['short', 9n * CREDIT, 402, '{"error":"insufficient funds","balance":0.5}'],
        ['gone', CREDIT, 404, '{"error":"account not found"}'],
      ];
      for (const [key, micros, status, body] of remembered) {
        await old.query(
          `INSERT INTO idempotency_keys (caller, key, endpoint, request_hash, status_code, response_body)
           VALUES ('backend', $1, 'deduct', $2, $3, $4)`,
          [key, hash(micros), status, body],
        );
      }
      expect(await runMigrations(old, BILLING_MIGRATIONS)).toEqual([
        '004_idempotency_outcome',
        '005_ledger_functions',
      ]);

      const upgraded = new BillingService(new BillingRepository(old), 48);
      const replay = (key: string, micros: bigint) =>
        upgraded.changeBalance(
          { kind: 'deduct', userId: 'legacy-user', micros, reason: undefined },
          { caller: 'backend', key },
        );
      expect(await replay('paid', CREDIT)).toEqual({
        outcome: {
          kind: 'applied',
          userId: 'legacy-user',
          balance: 4_000_001n,
          transactionId: 't-1',
        },
        replayed: true,
      });
      expect(await replay('short', 9n * CREDIT)).toEqual({
        outcome: { kind: 'insufficient_funds', balance: 500_000n },
        replayed: true,
      });
      expect(await replay('gone', CREDIT)).toEqual({
        outcome: { kind: 'account_not_found' },
        replayed: true,
      });
      // Replays took nothing: the balance is the opening one.
      expect((await new BillingRepository(old).findAccount('legacy-user'))?.balance).toBe(
        5n * CREDIT,
      );
    } finally {
      await old.close();
      await scratch.drop();
    }
  });
});
