import { Controller, Get } from '@nestjs/common';
import { ActingUser } from '@zt/service-utils';
import { type Balance, LedgerClient } from './ledger.client';

/** Reports for the user an internal caller acts for. */
@Controller('reports')
export class ReportsController {
  constructor(private readonly ledger: LedgerClient) {}

  /** `GET /reports/balance`: the acting user's balance, read from the ledger. */
  @Get('balance')
  balance(@ActingUser() userId: string): Promise<Balance> {
    return this.ledger.balanceOf(userId);
  }
}
