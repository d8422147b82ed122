import { type DynamicModule, Module } from '@nestjs/common';
import { HoldsController } from '../holds/holds.controller';
import { HoldsRepository } from '../holds/holds.repository';
import { HoldsService } from '../holds/holds.service';
import { AccountsController } from './accounts.controller';
import { IDEMPOTENCY_KEY_TTL_HOURS } from './billing.constants';
import { BillingRepository } from './billing.repository';
import { BillingService } from './billing.service';
import { TransactionsController } from './transactions.controller';

/** Accounts, the credit ledger, idempotent balance changes and holds. */
@Module({})
export class BillingModule {
  static forRoot(options: { idempotencyKeyTtlHours: number }): DynamicModule {
    return {
      module: BillingModule,
      controllers: [AccountsController, TransactionsController, HoldsController],
      providers: [
        BillingRepository,
        BillingService,
        HoldsRepository,
        HoldsService,
        { provide: IDEMPOTENCY_KEY_TTL_HOURS, useValue: options.idempotencyKeyTtlHours },
      ],
    };
  }
}
