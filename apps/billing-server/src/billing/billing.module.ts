import { type DynamicModule, Module } from '@nestjs/common';
import { AccountsController } from './accounts.controller';
import { IDEMPOTENCY_KEY_TTL_HOURS } from './billing.constants';
import { BillingRepository } from './billing.repository';
import { BillingService } from './billing.service';
import { TransactionsController } from './transactions.controller';

/** Accounts, the credit ledger and idempotent balance changes. */
@Module({})
export class BillingModule {
  static forRoot(options: { idempotencyKeyTtlHours: number }): DynamicModule {
    return {
      module: BillingModule,
      controllers: [AccountsController, TransactionsController],
      providers: [
        BillingRepository,
        BillingService,
        { provide: IDEMPOTENCY_KEY_TTL_HOURS, useValue: options.idempotencyKeyTtlHours },
      ],
    };
  }
}
