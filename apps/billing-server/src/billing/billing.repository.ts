import { Inject, Injectable } from '@nestjs/common';
import { DATABASE, type Database, type SqlExecutor } from '@zt/database';
import { MAX_BALANCE_MICROS, TIERS, type Tier } from '@zt/contracts';
import { z } from 'zod';
import type { RememberedChangeOutcome } from './billing-outcomes';

/** An account as stored. */
export interface AccountRow {
  readonly userId: string;
  readonly tier: Tier;
  readonly balance: bigint;
}

/** One ledger entry as stored; `amount` is signed (a deduct is negative). */
export interface LedgerEntryRow {
  readonly seq: bigint;
  readonly transactionId: string;
  readonly kind: 'opening' | 'deduct' | 'top_up';
  readonly amount: bigint;
  readonly balanceAfter: bigint;
  readonly reason: string | null;
  readonly createdAt: Date;
}

/** A balance change to apply: `micros` is positive, its direction is given by `kind`. */
export interface BalanceChange {
  readonly kind: 'deduct' | 'top_up';
  readonly userId: string;
  readonly micros: bigint;
  readonly reason: string | undefined;
  readonly transactionId: string;
}

/** What happened to a balance change. */
export type BalanceChangeOutcome =
  | { readonly kind: 'applied'; readonly balance: bigint }
  | { readonly kind: 'account_not_found' }
  | { readonly kind: 'insufficient_funds'; readonly balance: bigint }
  | { readonly kind: 'balance_limit_exceeded' };

/** The outcome remembered for an `Idempotency-Key`, with what identifies its request. */
export interface StoredOutcome {
  readonly endpoint: 'deduct' | 'top_up';
  readonly requestHash: string;
  readonly outcome: RememberedChangeOutcome;
}

const micros = z.string().regex(/^\d+$/).transform(BigInt);
/** A remembered outcome as stored (JSON text; amounts in micro-credits as decimal strings). */
const storedOutcome = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('applied'),
    user_id: z.string(),
    balance: micros,
    transaction_id: z.string(),
  }),
  z.object({ kind: z.literal('insufficient_funds'), balance: micros }),
  z.object({ kind: z.literal('account_not_found') }),
]);

function encodeOutcome(outcome: RememberedChangeOutcome): string {
  switch (outcome.kind) {
    case 'applied':
      return JSON.stringify({
        kind: outcome.kind,
        user_id: outcome.userId,
        balance: outcome.balance.toString(),
        transaction_id: outcome.transactionId,
      });
    case 'insufficient_funds':
      return JSON.stringify({ kind: outcome.kind, balance: outcome.balance.toString() });
    case 'account_not_found':
      return JSON.stringify({ kind: outcome.kind });
  }
}

function decodeOutcome(text: string): RememberedChangeOutcome {
  const stored = storedOutcome.parse(JSON.parse(text));
  return stored.kind === 'applied'
    ? {
        kind: 'applied',
        userId: stored.user_id,
        balance: stored.balance,
        transactionId: stored.transaction_id,
      }
    : stored;
}

/** Every SQL statement of the billing server. Methods taking `tx` run inside the caller's transaction. */
@Injectable()
export class BillingRepository {
  constructor(@Inject(DATABASE) private readonly db: Database) {}

  /** Runs `work` in one transaction. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.db.transaction(work);
  }

  /**
   * Creates an account with its opening balance and the `opening` ledger entry, atomically.
   * @returns the new account, or `undefined` when one exists already for `userId`.
   */
  createAccount(
    userId: string,
    tier: Tier,
    opening: bigint,
    transactionId: string,
  ): Promise<AccountRow | undefined> {
    return this.db.transaction(async (tx) => {
      const created = await tx.query(
        `INSERT INTO accounts (user_id, tier, balance) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO NOTHING RETURNING user_id`,
        [userId, tier, opening.toString()],
      );
      if (created.rowCount === 0) return undefined;
      await this.appendLedger(tx, transactionId, userId, 'opening', opening, opening, null);
      return { userId, tier, balance: opening };
    });
  }

  /** The account of `userId`, if there is one (read in `executor`'s transaction when given). */
  async findAccount(
    userId: string,
    executor: SqlExecutor = this.db,
  ): Promise<AccountRow | undefined> {
    const result = await executor.query<{ user_id: string; tier: Tier; balance: bigint }>(
      'SELECT user_id, tier, balance FROM accounts WHERE user_id = $1',
      [userId],
    );
    const row = result.rows[0];
    return row && { userId: row.user_id, tier: row.tier, balance: row.balance };
  }

  /**
   * Applies a deduct or a top-up with one conditional UPDATE (a deduct never takes a balance
   * below zero, a top-up never above the limit, however many run at once) and writes its
   * ledger entry in the same transaction.
   */
  async applyChange(tx: SqlExecutor, change: BalanceChange): Promise<BalanceChangeOutcome> {
    const micros = change.micros.toString();
    const updated =
      change.kind === 'deduct'
        ? await tx.query<{ balance: bigint }>(
            `UPDATE accounts SET balance = balance - $1::bigint
             WHERE user_id = $2 AND balance >= $1::bigint RETURNING balance`,
            [micros, change.userId],
          )
        : await tx.query<{ balance: bigint }>(
            `UPDATE accounts SET balance = balance + $1::bigint
             WHERE user_id = $2 AND balance <= $3::bigint - $1::bigint RETURNING balance`,
            [micros, change.userId, MAX_BALANCE_MICROS.toString()],
          );
    const row = updated.rows[0];
    if (row) {
      const signed = change.kind === 'deduct' ? -change.micros : change.micros;
      await this.appendLedger(
        tx,
        change.transactionId,
        change.userId,
        change.kind,
        signed,
        row.balance,
        change.reason ?? null,
      );
      return { kind: 'applied', balance: row.balance };
    }
    const current = await tx.query<{ balance: bigint }>(
      'SELECT balance FROM accounts WHERE user_id = $1',
      [change.userId],
    );
    const account = current.rows[0];
    if (!account) return { kind: 'account_not_found' };
    return change.kind === 'deduct'
      ? { kind: 'insufficient_funds', balance: account.balance }
      : { kind: 'balance_limit_exceeded' };
  }

  /** The balance right after ledger entry `transactionId`, if there is one. */
  async balanceAfter(executor: SqlExecutor, transactionId: string): Promise<bigint | undefined> {
    const result = await executor.query<{ balance_after: bigint }>(
      'SELECT balance_after FROM ledger_entries WHERE transaction_id = $1',
      [transactionId],
    );
    return result.rows[0]?.balance_after;
  }

  /** Up to `limit` ledger entries of `userId`, newest first, older than `beforeSeq` when given. */
  async listLedger(
    userId: string,
    limit: number,
    beforeSeq: bigint | undefined,
  ): Promise<LedgerEntryRow[]> {
    const result = await this.db.query<{
      seq: bigint;
      transaction_id: string;
      kind: LedgerEntryRow['kind'];
      amount: bigint;
      balance_after: bigint;
      reason: string | null;
      created_at: Date | string;
    }>(
      `SELECT seq, transaction_id, kind, amount, balance_after, reason, created_at
       FROM ledger_entries
       WHERE user_id = $1 AND ($2::bigint IS NULL OR seq < $2::bigint)
       ORDER BY seq DESC LIMIT $3`,
      [userId, beforeSeq?.toString() ?? null, limit],
    );
    return result.rows.map((row) => ({
      seq: row.seq,
      transactionId: row.transaction_id,
      kind: row.kind,
      amount: row.amount,
      balanceAfter: row.balance_after,
      reason: row.reason,
      createdAt: new Date(row.created_at),
    }));
  }

  /** The number of accounts of each tier (every tier present, zero included). */
  async countByTier(): Promise<Record<Tier, number>> {
    const result = await this.db.query<{ tier: Tier; count: bigint }>(
      'SELECT tier, count(*)::bigint AS count FROM accounts GROUP BY tier',
    );
    const counts = Object.fromEntries(TIERS.map((tier) => [tier, 0])) as Record<Tier, number>;
    for (const row of result.rows) counts[row.tier] = Number(row.count);
    return counts;
  }

  /**
   * Claims `caller`/`key` for the rest of the transaction. False when another transaction
   * holds it, i.e. a request with the same key is still in flight.
   */
  async tryLockIdempotencyKey(tx: SqlExecutor, caller: string, key: string): Promise<boolean> {
    const result = await tx.query<{ locked: boolean }>(
      `SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS locked`,
      // A caller name never contains '/', so caller/key pairs cannot collide.
      [`idempotency/${caller}/${key}`],
    );
    return result.rows[0]?.locked === true;
  }

  /** The outcome remembered for `caller`/`key`, unless older than `ttlHours`. */
  async findStoredOutcome(
    tx: SqlExecutor,
    caller: string,
    key: string,
    ttlHours: number,
  ): Promise<StoredOutcome | undefined> {
    const result = await tx.query<{
      endpoint: StoredOutcome['endpoint'];
      request_hash: string;
      outcome: string;
    }>(
      `SELECT endpoint, request_hash, outcome FROM idempotency_keys
       WHERE caller = $1 AND key = $2 AND created_at > now() - make_interval(hours => $3)`,
      [caller, key, ttlHours],
    );
    const row = result.rows[0];
    return (
      row && {
        endpoint: row.endpoint,
        requestHash: row.request_hash,
        outcome: decodeOutcome(row.outcome),
      }
    );
  }

  /** Remembers the outcome for `caller`/`key` (replacing an expired record of the same key). */
  async storeOutcome(
    tx: SqlExecutor,
    caller: string,
    key: string,
    stored: StoredOutcome,
  ): Promise<void> {
    await tx.query(
      `INSERT INTO idempotency_keys (caller, key, endpoint, request_hash, outcome)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (caller, key) DO UPDATE SET
         endpoint = EXCLUDED.endpoint, request_hash = EXCLUDED.request_hash,
         outcome = EXCLUDED.outcome, created_at = now()`,
      [caller, key, stored.endpoint, stored.requestHash, encodeOutcome(stored.outcome)],
    );
  }

  /** Forgets idempotency keys older than `ttlHours`. @returns how many were removed. */
  async purgeIdempotencyKeys(ttlHours: number): Promise<number> {
    const result = await this.db.query(
      `DELETE FROM idempotency_keys WHERE created_at <= now() - make_interval(hours => $1)`,
      [ttlHours],
    );
    return result.rowCount;
  }

  private async appendLedger(
    tx: SqlExecutor,
    transactionId: string,
    userId: string,
    kind: LedgerEntryRow['kind'],
    amount: bigint,
    balanceAfter: bigint,
    reason: string | null,
  ): Promise<void> {
    await tx.query(
      `INSERT INTO ledger_entries (transaction_id, user_id, kind, amount, balance_after, reason)
       VALUES ($1, $2, $3, $4::bigint, $5::bigint, $6)`,
      [transactionId, userId, kind, amount.toString(), balanceAfter.toString(), reason],
    );
  }
}
