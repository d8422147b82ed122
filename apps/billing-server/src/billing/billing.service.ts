import {
  HttpStatus,
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
  Optional,
} from '@nestjs/common';
import { HttpError, ServiceMetrics } from '@zt/service-chassis';
import type { SqlExecutor } from '@zt/database';
import { createHash, randomUUID } from 'node:crypto';
import { Counter } from 'prom-client';
import { MAX_BALANCE_MICROS, type Tier, toCredits } from '@zt/contracts';
import type { BillingResult } from './billing-result';
import { IDEMPOTENCY_KEY_TTL_HOURS } from './billing.constants';
import { type BalanceChange, BillingRepository, type StoredResponse } from './billing.repository';
import type { IdempotencyKey } from './idempotency-key';
import { TIER_OPENING_MICROS } from './tiers';

const PURGE_INTERVAL_MS = 60 * 60 * 1000;

/** The billing rules: accounts, balance changes with their ledger, idempotent replays. */
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
  async createAccount(userId: string, tier: Tier): Promise<BillingResult> {
    const account = await this.repository.createAccount(
      userId,
      tier,
      TIER_OPENING_MICROS[tier],
      randomUUID(),
    );
    if (!account) {
      this.operations?.inc({ kind: 'opening', result: 'account_exists' });
      return { status: HttpStatus.CONFLICT, body: { error: 'account exists' } };
    }
    this.operations?.inc({ kind: 'opening', result: 'applied' });
    return {
      status: HttpStatus.CREATED,
      body: { status: 'created', user_id: userId, balance: toCredits(account.balance) },
    };
  }

  /**
   * Applies a deduct or top-up. With an idempotency key, the key is claimed, the change
   * applied and its answer remembered in one transaction: a crash leaves nothing half done,
   * a retry with the same key and body gets the first answer (402 and 404 included) without
   * a second ledger entry, the same key with another request is a 422, and the same key while
   * the first request is still running is a 409.
   */
  async changeBalance(
    change: Omit<BalanceChange, 'transactionId'>,
    idempotency: IdempotencyKey | undefined,
  ): Promise<BillingResult> {
    try {
      const result = await this.changeBalanceOnce(change, idempotency);
      this.operations?.inc({ kind: change.kind, result: resultLabel(result) });
      return result;
    } catch (error) {
      this.operations?.inc({ kind: change.kind, result: errorLabel(error) });
      throw error;
    }
  }

  private changeBalanceOnce(
    change: Omit<BalanceChange, 'transactionId'>,
    idempotency: IdempotencyKey | undefined,
  ): Promise<BillingResult> {
    if (!idempotency) return this.repository.transaction((tx) => this.apply(tx, change));

    const requestHash = createHash('sha256')
      .update(JSON.stringify([change.userId, change.micros.toString(), change.reason ?? null]))
      .digest('hex');
    const { caller, key } = idempotency;
    const replay = (stored: StoredResponse): BillingResult => {
      if (stored.endpoint !== change.kind || stored.requestHash !== requestHash) {
        throw new HttpError(
          HttpStatus.UNPROCESSABLE_ENTITY,
          'this Idempotency-Key was used for a different request',
        );
      }
      return { status: stored.statusCode, body: stored.responseBody, replayed: true };
    };
    return this.repository.transaction(async (tx) => {
      // A finished request is replayed without its lock, however many replays come at once:
      // only a request whose original is still running may get 409.
      const finished = await this.repository.findStoredResponse(tx, caller, key, this.ttlHours);
      if (finished) return replay(finished);
      if (!(await this.repository.tryLockIdempotencyKey(tx, caller, key))) {
        throw new HttpError(
          HttpStatus.CONFLICT,
          'a request with this Idempotency-Key is still in progress',
        );
      }
      // The original may have finished between the look-up and the lock (READ COMMITTED: this
      // statement sees what committed before it).
      const stored = await this.repository.findStoredResponse(tx, caller, key, this.ttlHours);
      if (stored) return replay(stored);
      const result = await this.apply(tx, change);
      await this.repository.storeResponse(tx, caller, key, {
        endpoint: change.kind,
        requestHash,
        statusCode: result.status,
        responseBody: result.body,
      });
      return result;
    });
  }

  private async apply(
    tx: SqlExecutor,
    change: Omit<BalanceChange, 'transactionId'>,
  ): Promise<BillingResult> {
    const transactionId = randomUUID();
    const outcome = await this.repository.applyChange(tx, { ...change, transactionId });
    switch (outcome.kind) {
      case 'applied':
        return {
          status: HttpStatus.OK,
          body: {
            user_id: change.userId,
            balance: toCredits(outcome.balance),
            transaction_id: transactionId,
          },
        };
      case 'account_not_found':
        return { status: HttpStatus.NOT_FOUND, body: { error: 'account not found' } };
      case 'insufficient_funds':
        return {
          status: HttpStatus.PAYMENT_REQUIRED,
          body: { error: 'insufficient funds', balance: toCredits(outcome.balance) },
        };
      case 'balance_limit_exceeded':
        // Thrown, not returned: it rolls the transaction back, so the key is not remembered.
        throw new HttpError(
          HttpStatus.BAD_REQUEST,
          `top-up would take the balance above ${toCredits(MAX_BALANCE_MICROS)} credits`,
        );
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

function resultLabel(result: BillingResult): string {
  if (result.replayed) return 'replayed';
  switch (result.status) {
    case HttpStatus.OK:
      return 'applied';
    case HttpStatus.PAYMENT_REQUIRED:
      return 'insufficient_funds';
    case HttpStatus.NOT_FOUND:
      return 'account_not_found';
    default:
      return `status_${result.status}`;
  }
}

function errorLabel(error: unknown): string {
  if (!(error instanceof HttpError)) return 'error';
  switch (error.getStatus()) {
    case HttpStatus.CONFLICT:
      return 'in_progress';
    case HttpStatus.UNPROCESSABLE_ENTITY:
      return 'idempotency_mismatch';
    case HttpStatus.BAD_REQUEST:
      return 'balance_limit_exceeded';
    default:
      return 'error';
  }
}
