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

/** The `Idempotency-Key` of a balance change, and what identifies its request. */
export interface IdempotencyClaim {
  readonly caller: string;
  readonly key: string;
  /** Identifies the request's body, so that a key reused for another one is told apart. */
  readonly requestHash: string;
  /** A remembered outcome older than this is forgotten. */
  readonly ttlHours: number;
}

/** What an idempotent balance change did: applied or refused it, or found it taken. */
export type IdempotentChangeOutcome =
  | BalanceChangeOutcome
  /** The key has an outcome already (of this request or of another one: the caller compares). */
  | { readonly kind: 'stored'; readonly stored: StoredOutcome }
  /** The key is held by a request that is still running. */
  | { readonly kind: 'in_progress' };

/** A row of `apply_balance_change` or `change_balance_idempotently` (migration 005). */
interface ChangeRow {
  result_kind: BalanceChangeOutcome['kind'] | 'stored' | 'in_progress';
  result_balance: bigint | null;
  stored_endpoint?: StoredOutcome['endpoint'] | null;
  stored_request_hash?: string | null;
  stored_outcome?: string | null;
}

const micros = z.string().regex(/^\d+$/).transform(BigInt);
/**
 * A remembered outcome as stored: JSON text, amounts in micro-credits as decimal strings,
 * e.g. `{"kind":"applied","user_id":"u","balance":"4000000","transaction_id":"..."}` (written
 * by `change_balance_idempotently`, migration 005, exactly as this code wrote it before).
 */
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
   * Applies a deduct or a top-up in one statement, `apply_balance_change` (migration 005): one
   * conditional UPDATE (a deduct never takes a balance below zero, a top-up never above the
   * limit, however many run at once) and its ledger entry, or the current balance when it is
   * refused. Runs in `tx` when given (holds), else as a transaction of its own: one round trip.
   */
  async applyChange(
    change: BalanceChange,
    tx: SqlExecutor = this.db,
  ): Promise<BalanceChangeOutcome> {
    const result = await tx.query<ChangeRow>(
      `SELECT result_kind, result_balance
       FROM apply_balance_change($1, $2, $3::bigint, $4, $5::uuid, $6::bigint)`,
      changeParameters(change),
    );
    return toChangeOutcome(firstRow(result.rows));
  }

  /**
   * Applies a deduct or a top-up under an `Idempotency-Key` in one statement (so in one
   * transaction and one round trip), `change_balance_idempotently` (migration 005): a key
   * with a remembered outcome is answered with it, unchanged; a key held by a running request
   * is `in_progress` (its advisory lock is taken, never waited for); otherwise the change is
   * applied and its outcome remembered, unless the balance limit refused it (nothing changed).
   */
  async applyChangeIdempotently(
    change: BalanceChange,
    claim: IdempotencyClaim,
  ): Promise<IdempotentChangeOutcome> {
    const result = await this.db.query<ChangeRow>(
      `SELECT result_kind, result_balance, stored_endpoint, stored_request_hash, stored_outcome
       FROM change_balance_idempotently(
         $1, $2, $3, $4::integer, $5, $6, $7::bigint, $8, $9::uuid, $10::bigint)`,
      [claim.caller, claim.key, claim.requestHash, claim.ttlHours, ...changeParameters(change)],
    );
    const row = firstRow(result.rows);
    switch (row.result_kind) {
      case 'in_progress':
        return { kind: 'in_progress' };
      case 'stored':
        return {
          kind: 'stored',
          stored: {
            endpoint: z.enum(['deduct', 'top_up']).parse(row.stored_endpoint),
            requestHash: z.string().parse(row.stored_request_hash),
            outcome: decodeOutcome(z.string().parse(row.stored_outcome)),
          },
        };
      case 'applied':
      case 'insufficient_funds':
      case 'account_not_found':
      case 'balance_limit_exceeded':
        return toChangeOutcome(row);
    }
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

function changeParameters(
  change: BalanceChange,
): [string, string, string, string | null, string, string] {
  return [
    change.kind,
    change.userId,
    change.micros.toString(),
    change.reason ?? null,
    change.transactionId,
    MAX_BALANCE_MICROS.toString(),
  ];
}

function firstRow(rows: ChangeRow[]): ChangeRow {
  const row = rows[0];
  if (!row) throw new Error('a balance change function returned no row');
  return row;
}

function toChangeOutcome(row: ChangeRow): BalanceChangeOutcome {
  switch (row.result_kind) {
    case 'applied':
    case 'insufficient_funds':
      if (row.result_balance === null) throw new Error(`${row.result_kind} without a balance`);
      return { kind: row.result_kind, balance: row.result_balance };
    case 'account_not_found':
    case 'balance_limit_exceeded':
      return { kind: row.result_kind };
    case 'stored':
    case 'in_progress':
      throw new Error(`unexpected balance change result ${row.result_kind}`);
  }
}
