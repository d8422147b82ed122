import { Injectable, Optional } from '@nestjs/common';
import type { SqlExecutor } from '@zt/database';
import { ServiceMetrics } from '@zt/service-chassis';
import { Counter } from 'prom-client';
import { randomUUID } from 'node:crypto';
import type { Replayable } from '../billing/billing-outcomes';
import { BillingRepository } from '../billing/billing.repository';
import { type HoldFilter, type HoldRow, HoldsRepository } from './holds.repository';

/** A hold to place: `micros` is taken from the balance at once. */
export interface NewHold {
  readonly holdId: string;
  readonly userId: string;
  readonly micros: bigint;
  readonly reason: string | undefined;
}

/** Placing a hold; `balance` is the account's right after the hold was taken. */
export type PlaceOutcome =
  | { readonly kind: 'placed'; readonly hold: HoldRow; readonly balance: bigint }
  /** The hold id was placed before with the same terms: the hold as it is now. */
  | { readonly kind: 'placed_before'; readonly hold: HoldRow; readonly balance?: bigint }
  | { readonly kind: 'insufficient_funds'; readonly balance: bigint }
  | { readonly kind: 'account_not_found' }
  /** The hold id was placed before with other terms. */
  | { readonly kind: 'hold_id_reused' };

/** Capturing a hold. */
export type CaptureOutcome =
  | { readonly kind: 'captured'; readonly hold: HoldRow }
  | { readonly kind: 'hold_not_found' }
  | { readonly kind: 'already_released' };

/** Releasing a hold; `balance` is the account's right after the refund. */
export type ReleaseOutcome =
  | { readonly kind: 'released'; readonly hold: HoldRow; readonly balance?: bigint }
  | { readonly kind: 'hold_not_found' }
  | { readonly kind: 'already_captured' }
  /** The refund would take the balance above its limit: the hold stays held for a later try. */
  | { readonly kind: 'balance_at_limit' };

/** A page of holds and the cursor of the next page (null on the last). */
export interface HoldsPage {
  readonly holds: readonly HoldRow[];
  readonly nextAfter: bigint | null;
}

/** Thrown inside a transaction to roll it back and answer `outcome` instead. */
class Refusal extends Error {
  constructor(readonly outcome: PlaceOutcome) {
    super('refused');
  }
}

/**
 * Holds: a charge whose outcome is settled later. Placing one deducts its amount (a `deduct`
 * ledger row) in the transaction that records it; capturing keeps the money; releasing pays
 * it back (a `top_up` ledger row) in the transaction that marks it released. A hold id is
 * placed at most once per calling service: placing it again replays the hold as it is now, so
 * a caller that lost an answer asks again and learns the truth. Capture and release are
 * idempotent, and each refuses the other's settled state (409).
 */
@Injectable()
export class HoldsService {
  private readonly operations: Counter<'action' | 'result'> | undefined;

  constructor(
    private readonly holds: HoldsRepository,
    private readonly billing: BillingRepository,
    @Optional() metrics?: ServiceMetrics,
  ) {
    if (metrics) {
      this.operations = new Counter({
        name: 'billing_holds_total',
        help:
          'Hold operations by action (place, capture, release) and result (applied, replayed, ' +
          'or the refusal: insufficient_funds, account_not_found, hold_id_reused, hold_not_found, ' +
          'already_released, already_captured, balance_at_limit, error).',
        labelNames: ['action', 'result'],
        registers: [metrics.registry],
      });
      for (const action of ['place', 'capture', 'release'] as const) {
        this.operations.inc({ action, result: 'applied' }, 0);
      }
    }
  }

  /** `POST /holds`: takes the amount now, or answers the hold placed earlier under this id. */
  async place(caller: string, hold: NewHold): Promise<PlaceOutcome> {
    const outcome = await this.counted('place', this.placeOnce(caller, hold));
    this.count('place', outcome.kind === 'placed_before', outcome.kind);
    return outcome;
  }

  /** `POST /holds/:id/capture`: keeps the money. */
  async capture(caller: string, holdId: string): Promise<Replayable<CaptureOutcome>> {
    const result = await this.counted('capture', this.captureOnce(caller, holdId));
    this.count('capture', result.replayed, result.outcome.kind);
    return result;
  }

  /** `POST /holds/:id/release`: pays the amount back, once. */
  async release(caller: string, holdId: string): Promise<Replayable<ReleaseOutcome>> {
    const result = await this.counted('release', this.releaseOnce(caller, holdId));
    this.count('release', result.replayed, result.outcome.kind);
    return result;
  }

  /** Counts an error of `action` and passes it on. */
  private async counted<T>(
    action: 'place' | 'capture' | 'release',
    pending: Promise<T>,
  ): Promise<T> {
    try {
      return await pending;
    } catch (error) {
      this.operations?.inc({ action, result: 'error' });
      throw error;
    }
  }

  private count(action: 'place' | 'capture' | 'release', replayed: boolean, kind: string): void {
    const done = kind === 'placed' || kind === 'captured' || kind === 'released';
    this.operations?.inc({ action, result: replayed ? 'replayed' : done ? 'applied' : kind });
  }

  private async placeOnce(caller: string, hold: NewHold): Promise<PlaceOutcome> {
    try {
      return await this.billing.transaction(async (tx): Promise<PlaceOutcome> => {
        const chargeTransactionId = randomUUID();
        const account = await this.billing.findAccount(hold.userId, tx);
        if (!account) return { kind: 'account_not_found' };
        const inserted = await this.holds.insert(tx, caller, {
          holdId: hold.holdId,
          userId: hold.userId,
          amount: hold.micros,
          reason: hold.reason ?? null,
          chargeTransactionId,
        });
        if (!inserted) return this.replayPlaced(tx, caller, hold);
        const outcome = await this.billing.applyChange(
          {
            kind: 'deduct',
            userId: hold.userId,
            micros: hold.micros,
            reason: hold.reason,
            transactionId: chargeTransactionId,
          },
          tx,
        );
        switch (outcome.kind) {
          case 'applied':
            return { kind: 'placed', hold: inserted, balance: outcome.balance };
          case 'insufficient_funds':
          case 'account_not_found':
            // Thrown, not returned: the hold row inserted above must roll back.
            throw new Refusal(outcome);
          case 'balance_limit_exceeded':
            // A deduct never passes the limit; the outcome only exists for top-ups.
            throw new Error('a deduct cannot exceed the balance limit');
        }
      });
    } catch (error) {
      if (error instanceof Refusal) return error.outcome;
      throw error;
    }
  }

  private async captureOnce(caller: string, holdId: string): Promise<Replayable<CaptureOutcome>> {
    const captured = await this.holds.capture(caller, holdId);
    if (captured) return { outcome: { kind: 'captured', hold: captured }, replayed: false };
    const hold = await this.holds.find(undefined, caller, holdId);
    if (!hold) return { outcome: { kind: 'hold_not_found' }, replayed: false };
    if (hold.state === 'released')
      return { outcome: { kind: 'already_released' }, replayed: false };
    return { outcome: { kind: 'captured', hold }, replayed: true };
  }

  private releaseOnce(caller: string, holdId: string): Promise<Replayable<ReleaseOutcome>> {
    return this.billing.transaction(async (tx): Promise<Replayable<ReleaseOutcome>> => {
      const hold = await this.holds.find(tx, caller, holdId, true);
      if (!hold) return { outcome: { kind: 'hold_not_found' }, replayed: false };
      if (hold.state === 'captured')
        return { outcome: { kind: 'already_captured' }, replayed: false };
      if (hold.state === 'released' && hold.refundTransactionId !== null) {
        const balance = await this.billing.balanceAfter(tx, hold.refundTransactionId);
        return { outcome: { kind: 'released', hold, balance }, replayed: true };
      }
      const refundTransactionId = randomUUID();
      const outcome = await this.billing.applyChange(
        {
          kind: 'top_up',
          userId: hold.userId,
          micros: hold.amount,
          reason: `release of hold ${hold.holdId}`,
          transactionId: refundTransactionId,
        },
        tx,
      );
      // Only a balance at its limit refuses a top-up here (the account exists: the hold
      // references it). Nothing changed; the hold stays held and its releaser tries again later.
      if (outcome.kind !== 'applied')
        return { outcome: { kind: 'balance_at_limit' }, replayed: false };
      const released = await this.holds.markReleased(tx, caller, holdId, refundTransactionId);
      return {
        outcome: { kind: 'released', hold: released, balance: outcome.balance },
        replayed: false,
      };
    });
  }

  /** `GET /holds`: a page of the caller's holds, oldest first. */
  async list(caller: string, filter: HoldFilter): Promise<HoldsPage> {
    // One row more than asked tells whether another page exists.
    const rows = await this.holds.list(caller, { ...filter, limit: filter.limit + 1 });
    const page = rows.slice(0, filter.limit);
    return {
      holds: page,
      nextAfter: rows.length > filter.limit ? page[page.length - 1].seq : null,
    };
  }

  /** A hold id placed before: the same hold again (its state now), or another one. */
  private async replayPlaced(
    tx: SqlExecutor,
    caller: string,
    hold: NewHold,
  ): Promise<PlaceOutcome> {
    const existing = await this.holds.find(tx, caller, hold.holdId);
    if (!existing) throw new Error(`hold ${hold.holdId} vanished`);
    if (
      existing.userId !== hold.userId ||
      existing.amount !== hold.micros ||
      existing.reason !== (hold.reason ?? null)
    ) {
      return { kind: 'hold_id_reused' };
    }
    // The balance the first answer gave (right after the hold), so a replay is the same answer.
    const balance = await this.billing.balanceAfter(tx, existing.chargeTransactionId);
    return { kind: 'placed_before', hold: existing, balance };
  }
}
