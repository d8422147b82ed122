import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
  Optional,
} from '@nestjs/common';
import { ServiceMetrics } from '@zt/service-chassis';
import { createHash, randomUUID } from 'node:crypto';
import { Counter } from 'prom-client';
import type { Tier } from '@zt/contracts';
import type {
  BalanceChangeResult,
  OpeningOutcome,
  RememberedChangeOutcome,
  Replayable,
} from './billing-outcomes';
import { IDEMPOTENCY_KEY_TTL_HOURS } from './billing.constants';
import {
  type BalanceChange,
  type BalanceChangeOutcome,
  BillingRepository,
} from './billing.repository';
import type { IdempotencyKey } from './idempotency-key';
import { TIER_OPENING_MICROS } from './tiers';

const PURGE_INTERVAL_MS = 60 * 60 * 1000;

/**
 * The billing rules: accounts, balance changes with their ledger, idempotent replays. Answers
 * in outcomes; the controllers map them to HTTP.
 */
@Injectable()
export class BillingService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(BillingService.name);
  private purgeTimer: NodeJS.Timeout | undefined;
  private readonly operations: Counter<'kind' | 'result'> | undefined;

  constructor(
    private readonly repository: BillingRepository,
    @Inject(IDEMPOTENCY_KEY_TTL_HOURS) private readonly ttlHours: number,
    @Optional() metrics?: ServiceMetrics,
  ) {
    if (metrics) {
      this.operations = new Counter({
        name: 'billing_ledger_operations_total',
        help:
          'Ledger operations by kind (opening, deduct, top_up) and result (applied, ' +
          'insufficient_funds, account_not_found, account_exists, replayed, ' +
          'idempotency_mismatch, in_progress, balance_limit_exceeded, error).',
        labelNames: ['kind', 'result'],
        registers: [metrics.registry],
      });
      for (const kind of ['opening', 'deduct', 'top_up'] as const) {
        this.operations.inc({ kind, result: 'applied' }, 0);
      }
    }
  }

  onModuleInit(): void {
    this.purgeTimer = setInterval(() => void this.purgeExpiredKeys(), PURGE_INTERVAL_MS).unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.purgeTimer);
  }

  /** Opens an account of `tier` with the tier's starting balance. */
  async createAccount(userId: string, tier: Tier): Promise<OpeningOutcome> {
    const account = await this.repository.createAccount(
      userId,
      tier,
      TIER_OPENING_MICROS[tier],
      randomUUID(),
    );
    const outcome: OpeningOutcome = account
      ? { kind: 'created', userId, balance: account.balance }
      : { kind: 'account_exists' };
    this.operations?.inc({
      kind: 'opening',
      result: outcome.kind === 'created' ? 'applied' : outcome.kind,
    });
    return outcome;
  }

  /**
   * Applies a deduct or top-up, in one statement to the database (see
   * `BillingRepository.applyChange`). With an idempotency key, the key is claimed, the change
   * applied and its outcome remembered in that one statement, so in one transaction: a crash leaves nothing half done,
   * a retry with the same key and body gets the first outcome (a refusal for want of funds or
   * of an account included) without a second ledger entry, the same key with another request
   * is `idempotency_key_reused`, and the same key while the first request is still running is
   * `in_progress`.
   */
  async changeBalance(
    change: Omit<BalanceChange, 'transactionId'>,
    idempotency: IdempotencyKey | undefined,
  ): Promise<Replayable<BalanceChangeResult>> {
    try {
      const result = await this.changeBalanceOnce(change, idempotency);
      this.operations?.inc({ kind: change.kind, result: resultLabel(result) });
      return result;
    } catch (error) {
      this.operations?.inc({ kind: change.kind, result: 'error' });
      throw error;
    }
  }

  private async changeBalanceOnce(
    change: Omit<BalanceChange, 'transactionId'>,
    idempotency: IdempotencyKey | undefined,
  ): Promise<Replayable<BalanceChangeResult>> {
    const transactionId = randomUUID();
    const applied = (
      outcome: BalanceChangeOutcome,
    ): RememberedChangeOutcome | { readonly kind: 'balance_limit_exceeded' } =>
      outcome.kind === 'applied'
        ? { kind: 'applied', userId: change.userId, balance: outcome.balance, transactionId }
        : outcome;
    if (!idempotency) {
      const outcome = await this.repository.applyChange({ ...change, transactionId });
      return { outcome: applied(outcome), replayed: false };
    }

    const requestHash = createHash('sha256')
      .update(JSON.stringify([change.userId, change.micros.toString(), change.reason ?? null]))
      .digest('hex');
    // One statement: look-up, the key's lock, the change and its remembered outcome.
    const outcome = await this.repository.applyChangeIdempotently(
      { ...change, transactionId },
      { caller: idempotency.caller, key: idempotency.key, requestHash, ttlHours: this.ttlHours },
    );
    switch (outcome.kind) {
      case 'stored':
        return outcome.stored.endpoint !== change.kind || outcome.stored.requestHash !== requestHash
          ? { outcome: { kind: 'idempotency_key_reused' }, replayed: false }
          : { outcome: outcome.stored.outcome, replayed: true };
      case 'in_progress':
        return { outcome, replayed: false };
      case 'applied':
      case 'insufficient_funds':
      case 'account_not_found':
      case 'balance_limit_exceeded':
        return { outcome: applied(outcome), replayed: false };
    }
  }

  private async purgeExpiredKeys(): Promise<void> {
    try {
      const removed = await this.repository.purgeIdempotencyKeys(this.ttlHours);
      if (removed > 0) this.logger.log({ event: 'idempotency_keys_purged', removed });
    } catch (error) {
      this.logger.error({
        event: 'idempotency_keys_purge_failed',
        error: (error as Error).message,
      });
    }
  }
}

function resultLabel({ outcome, replayed }: Replayable<BalanceChangeResult>): string {
  if (replayed) return 'replayed';
  // The metric's label values predate the outcome's name.
  return outcome.kind === 'idempotency_key_reused' ? 'idempotency_mismatch' : outcome.kind;
}
