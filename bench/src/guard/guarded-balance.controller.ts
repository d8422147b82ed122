import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import { InternalTokenGuard, Scopes } from '@zt/service-utils';
import { type Balance, BalanceReader } from './balance.reader';

/**
 * The balance read behind `InternalTokenGuard`, registered on this controller with
 * `@UseGuards` (the billing server registers the same guard globally, which runs the same
 * code for every route). With service identity (`INTERNAL_AUTH_MODE=token+jwt`), the caller's
 * service token must carry billing's balance-read scope, as billing's own `GET /balance` asks.
 */
@Controller('guarded')
@UseGuards(InternalTokenGuard)
@Scopes('billing:balance.read')
export class GuardedBalanceController {
  constructor(private readonly reader: BalanceReader) {}

  @Get('memory/:user_id')
  memory(@Param('user_id') userId: string): Balance {
    return this.reader.fromMemory(userId);
  }

  @Get('database/:user_id')
  database(@Param('user_id') userId: string): Promise<Balance> {
    return this.reader.fromDatabase(userId);
  }
}
