import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import { InternalTokenGuard } from '@zt/service-utils';
import { type Balance, BalanceReader } from './balance.reader';

/**
 * The balance read behind `InternalTokenGuard`, registered on this controller with
 * `@UseGuards` (the billing server registers the same guard globally, which runs the same
 * code for every route).
 */
@Controller('guarded')
@UseGuards(InternalTokenGuard)
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
