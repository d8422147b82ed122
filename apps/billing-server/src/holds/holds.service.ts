import { HttpStatus, Injectable, Optional } from '@nestjs/common';
import type { SqlExecutor } from '@zt/database';
import { HttpError, ServiceMetrics } from '@zt/service-chassis';
import { Counter } from 'prom-client';
import { randomUUID } from 'node:crypto';
import type { BillingResult } from '../billing/billing-result';
import { BillingRepository } from '../billing/billing.repository';
import { toCredits } from '@zt/contracts';
import { type HoldFilter, type HoldRow, HoldsRepository } from './holds.repository';

/** A hold to place: `micros` is taken from the balance at once. */
export interface NewHold {
  readonly holdId: string;
  readonly userId: string;
  readonly micros: bigint;
  readonly reason: string | undefined;
}

/** Thrown inside a transaction to roll it back and answer `result` instead. */
class Refusal extends Error {
  constructor(readonly result: BillingResult) {
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
          'or the refusal: insufficient_funds, account_not_found, status_<code>, error).',
        labelNames: ['action', 'result'],
        registers: [metrics.registry],
      });
      for (const action of ['place', 'capture', 'release'] as const) {
        this.operations.inc({ action, result: 'applied' }, 0);
      }
    }
  }

  /** `POST /holds`: takes the amount now, or answers the hold placed earlier under this id. */
  place(caller: string, hold: NewHold): Promise<BillingResult> {
    return this.counted('place', this.placeOnce(caller, hold));
  }

  /** `POST /holds/:id/capture`: keeps the money. */
  capture(caller: string, holdId: string): Promise<BillingResult> {
    return this.counted('capture', this.captureOnce(caller, holdId));
  }

  /** `POST /holds/:id/release`: pays the amount back, once. */
  release(caller: string, holdId: string): Promise<BillingResult> {
    return this.counted('release', this.releaseOnce(caller, holdId));
  }

  private async counted(
    action: 'place' | 'capture' | 'release',
    pending: Promise<BillingResult>,
  ): Promise<BillingResult> {
    try {
      const result = await pending;
      this.operations?.inc({ action, result: resultLabel(result) });
      return result;
    } catch (error) {
      const label = error instanceof HttpError ? `status_${error.getStatus()}` : 'error';
      this.operations?.inc({ action, result: label });
      throw error;
    }
  }

  private async placeOnce(caller: string, hold: NewHold): Promise<BillingResult> {
    try {
      return await this.billing.transaction(async (tx) => {
        const chargeTransactionId = randomUUID();
        const account = await this.billing.findAccount(hold.userId, tx);
        if (!account) throw new Refusal(accountNotFound());
        const inserted = await this.holds.insert(tx, caller, {
          holdId: hold.holdId,
          userId: hold.userId,
          amount: hold.micros,
          reason: hold.reason ?? null,
          chargeTransactionId,
        });
        if (!inserted) return this.replayPlaced(tx, caller, hold);
        const outcome = await this.billing.applyChange(tx, {
          kind: 'deduct',
          userId: hold.userId,
          micros: hold.micros,
          reason: hold.reason,
          transactionId: chargeTransactionId,
        });
        switch (outcome.kind) {
          case 'applied':
            return { status: HttpStatus.CREATED, body: holdBody(inserted, outcome.balance) };
          case 'insufficient_funds':
            throw new Refusal({
              status: HttpStatus.PAYMENT_REQUIRED,
              body: { error: 'insufficient funds', balance: toCredits(outcome.balance) },
            });
          case 'account_not_found':
            throw new Refusal(accountNotFound());
          case 'balance_limit_exceeded':
            // A deduct never passes the limit; the outcome only exists for top-ups.
            throw new Error('a deduct cannot exceed the balance limit');
        }
      });
    } catch (error) {
      if (error instanceof Refusal) return error.result;
      throw error;
    }
  }

  private async captureOnce(caller: string, holdId: string): Promise<BillingResult> {
    const captured = await this.holds.capture(caller, holdId);
    if (captured) return { status: HttpStatus.OK, body: holdBody(captured) };
    const hold = await this.holds.find(undefined, caller, holdId);
    if (!hold) throw holdNotFound();
    if (hold.state === 'released') {
      throw new HttpError(HttpStatus.CONFLICT, 'hold already released');
    }
    return { status: HttpStatus.OK, body: holdBody(hold), replayed: true };
  }

  private releaseOnce(caller: string, holdId: string): Promise<BillingResult> {
    return this.billing.transaction(async (tx) => {
      const hold = await this.holds.find(tx, caller, holdId, true);
      if (!hold) throw holdNotFound();
      if (hold.state === 'captured') {
        throw new HttpError(HttpStatus.CONFLICT, 'hold already captured');
      }
      if (hold.state === 'released' && hold.refundTransactionId !== null) {
        const balance = await this.billing.balanceAfter(tx, hold.refundTransactionId);
        return { status: HttpStatus.OK, body: holdBody(hold, balance), replayed: true };
      }
      const refundTransactionId = randomUUID();
      const outcome = await this.billing.applyChange(tx, {
        kind: 'top_up',
        userId: hold.userId,
        micros: hold.amount,
        reason: `release of hold ${hold.holdId}`,
        transactionId: refundTransactionId,
      });
      if (outcome.kind !== 'applied') {
        // Only a balance at its limit refuses a top-up here (the account exists: the hold
        // references it). The hold stays held and its releaser tries again later.
        throw new HttpError(
          HttpStatus.CONFLICT,
          'the balance is at its limit; the hold stays held until it can be paid back',
        );
      }
      const released = await this.holds.markReleased(tx, caller, holdId, refundTransactionId);
      return { status: HttpStatus.OK, body: holdBody(released, outcome.balance) };
    });
  }

  /** `GET /holds`: a page of the caller's holds, oldest first. */
  async list(caller: string, filter: HoldFilter): Promise<Record<string, unknown>> {
    // One row more than asked tells whether another page exists.
    const rows = await this.holds.list(caller, { ...filter, limit: filter.limit + 1 });
    const page = rows.slice(0, filter.limit);
    return {
      holds: page.map((row) => holdBody(row)),
      next_after: rows.length > filter.limit ? page[page.length - 1].seq.toString() : null,
    };
  }

  /** A hold id placed before: the same hold again (its state now), or 422 for another one. */
  private async replayPlaced(
    tx: SqlExecutor,
    caller: string,
    hold: NewHold,
  ): Promise<BillingResult> {
    const existing = await this.holds.find(tx, caller, hold.holdId);
    if (!existing) throw new Error(`hold ${hold.holdId} vanished`);
    if (
      existing.userId !== hold.userId ||
      existing.amount !== hold.micros ||
      existing.reason !== (hold.reason ?? null)
    ) {
      throw new HttpError(
        HttpStatus.UNPROCESSABLE_ENTITY,
        'this hold_id was used for a different hold',
      );
    }
    // The balance the first answer gave (right after the hold), so a replay is the same answer.
    const balance = await this.billing.balanceAfter(tx, existing.chargeTransactionId);
    return { status: HttpStatus.OK, body: holdBody(existing, balance), replayed: true };
  }
}

/** A hold as answered; `balance` (the account's, after the change) when known. */
function holdBody(hold: HoldRow, balance?: bigint): Record<string, unknown> {
  return {
    hold_id: hold.holdId,
    user_id: hold.userId,
    amount: toCredits(hold.amount),
    reason: hold.reason,
    state: hold.state,
    ...(balance === undefined ? {} : { balance: toCredits(balance) }),
    charge_transaction_id: hold.chargeTransactionId,
    refund_transaction_id: hold.refundTransactionId,
    created_at: hold.createdAt.toISOString(),
    settled_at: hold.settledAt?.toISOString() ?? null,
  };
}

function resultLabel(result: BillingResult): string {
  if (result.replayed) return 'replayed';
  switch (result.status) {
    case HttpStatus.OK:
    case HttpStatus.CREATED:
      return 'applied';
    case HttpStatus.PAYMENT_REQUIRED:
      return 'insufficient_funds';
    case HttpStatus.NOT_FOUND:
      return 'account_not_found';
    default:
      return `status_${result.status}`;
  }
}

function accountNotFound(): BillingResult {
  return { status: HttpStatus.NOT_FOUND, body: { error: 'account not found' } };
}

function holdNotFound(): HttpError {
  return new HttpError(HttpStatus.NOT_FOUND, 'hold not found');
}
