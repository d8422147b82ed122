import { Inject, Injectable } from '@nestjs/common';
import { DATABASE, type Database, type SqlExecutor } from '@zt/database';

/** The states of a hold: `held` until captured (kept) or released (paid back). */
export type HoldState = 'held' | 'captured' | 'released';

/** A hold as stored; `amount` in micro-credits. */
export interface HoldRow {
  readonly seq: bigint;
  readonly holdId: string;
  readonly userId: string;
  readonly amount: bigint;
  readonly reason: string | null;
  readonly state: HoldState;
  readonly chargeTransactionId: string;
  readonly refundTransactionId: string | null;
  readonly createdAt: Date;
  readonly settledAt: Date | null;
}

/** Which holds of a caller to list, oldest first. */
export interface HoldFilter {
  readonly state?: HoldState;
  readonly userId?: string;
  /** Only holds created at least this many seconds ago. */
  readonly olderThanSeconds?: number;
  /** Only holds after this `seq` (the `next_after` of an earlier page). */
  readonly afterSeq?: bigint;
  readonly limit: number;
}

interface HoldRecord {
  seq: bigint;
  hold_id: string;
  user_id: string;
  amount: bigint;
  reason: string | null;
  state: HoldState;
  charge_transaction_id: string;
  refund_transaction_id: string | null;
  created_at: Date | string;
  settled_at: Date | string | null;
}

const COLUMNS = `seq, hold_id, user_id, amount, reason, state, charge_transaction_id,
  refund_transaction_id, created_at, settled_at`;

/**
 * The SQL of holds. Holds live in the namespace of the calling service (`caller`), like
 * idempotency keys. Methods taking `tx` run inside the caller's transaction; the balance
 * changes themselves go through `BillingRepository.applyChange`, so every hold and release
 * has its ledger row in the same transaction.
 */
@Injectable()
export class HoldsRepository {
  constructor(@Inject(DATABASE) private readonly db: Database) {}

  /**
   * Records a new `held` hold, unless one with this id exists already (then it waits for
   * the transaction that is creating it, and returns undefined).
   */
  async insert(
    tx: SqlExecutor,
    caller: string,
    hold: Pick<HoldRow, 'holdId' | 'userId' | 'amount' | 'reason' | 'chargeTransactionId'>,
  ): Promise<HoldRow | undefined> {
    const result = await tx.query<HoldRecord>(
      `INSERT INTO holds (caller, hold_id, user_id, amount, reason, state, charge_transaction_id)
       VALUES ($1, $2, $3, $4::bigint, $5, 'held', $6)
       ON CONFLICT (caller, hold_id) DO NOTHING RETURNING ${COLUMNS}`,
      [
        caller,
        hold.holdId,
        hold.userId,
        hold.amount.toString(),
        hold.reason,
        hold.chargeTransactionId,
      ],
    );
    return result.rows[0] && toHold(result.rows[0]);
  }

  /**
   * The hold `holdId` of `caller`, read in `executor`'s transaction when given; with
   * `forUpdate`, locked until that transaction ends.
   */
  async find(
    executor: SqlExecutor | undefined,
    caller: string,
    holdId: string,
    forUpdate = false,
  ): Promise<HoldRow | undefined> {
    const result = await (executor ?? this.db).query<HoldRecord>(
      `SELECT ${COLUMNS} FROM holds WHERE caller = $1 AND hold_id = $2${forUpdate ? ' FOR UPDATE' : ''}`,
      [caller, holdId],
    );
    return result.rows[0] && toHold(result.rows[0]);
  }

  /** Marks a `held` hold captured. @returns the hold, or undefined when it was not `held`. */
  async capture(caller: string, holdId: string): Promise<HoldRow | undefined> {
    const result = await this.db.query<HoldRecord>(
      `UPDATE holds SET state = 'captured', settled_at = now()
       WHERE caller = $1 AND hold_id = $2 AND state = 'held' RETURNING ${COLUMNS}`,
      [caller, holdId],
    );
    return result.rows[0] && toHold(result.rows[0]);
  }

  /** Marks a `held` hold (locked by the caller's transaction) released by `refundTransactionId`. */
  async markReleased(
    tx: SqlExecutor,
    caller: string,
    holdId: string,
    refundTransactionId: string,
  ): Promise<HoldRow> {
    const result = await tx.query<HoldRecord>(
      `UPDATE holds SET state = 'released', refund_transaction_id = $3, settled_at = now()
       WHERE caller = $1 AND hold_id = $2 AND state = 'held' RETURNING ${COLUMNS}`,
      [caller, holdId, refundTransactionId],
    );
    const row = result.rows[0];
    if (!row) throw new Error(`hold ${holdId} was not held`);
    return toHold(row);
  }

  /** The holds of `caller` that match `filter`, oldest first. */
  async list(caller: string, filter: HoldFilter): Promise<HoldRow[]> {
    const result = await this.db.query<HoldRecord>(
      `SELECT ${COLUMNS} FROM holds
       WHERE caller = $1
         AND ($2::text IS NULL OR state = $2)
         AND ($3::text IS NULL OR user_id = $3)
         AND ($4::integer IS NULL OR created_at <= now() - make_interval(secs => $4))
         AND ($5::bigint IS NULL OR seq > $5::bigint)
       ORDER BY seq LIMIT $6`,
      [
        caller,
        filter.state ?? null,
        filter.userId ?? null,
        filter.olderThanSeconds ?? null,
        filter.afterSeq?.toString() ?? null,
        filter.limit,
      ],
    );
    return result.rows.map(toHold);
  }
}

function toHold(row: HoldRecord): HoldRow {
  return {
    seq: row.seq,
    holdId: row.hold_id,
    userId: row.user_id,
    amount: row.amount,
    reason: row.reason,
    state: row.state,
    chargeTransactionId: row.charge_transaction_id,
    refundTransactionId: row.refund_transaction_id,
    createdAt: new Date(row.created_at),
    settledAt: row.settled_at === null ? null : new Date(row.settled_at),
  };
}
