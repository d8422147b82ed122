import { type CanActivate, Controller, Get, Injectable, Param, UseGuards } from '@nestjs/common';
import { type Balance, BalanceReader } from './balance.reader';

/** A guard that lets everything through: what any guard costs in Nest, before its own work. */
@Injectable()
export class AllowAllGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

/**
 * The same balance read behind {@link AllowAllGuard}: the baseline that isolates what
 * `InternalTokenGuard`'s own code costs from what Nest's guard machinery costs.
 */
@Controller('allow-all')
@UseGuards(AllowAllGuard)
export class AllowAllBalanceController {
  constructor(private readonly reader: BalanceReader) {}

  @Get('memory/:user_id')
  memory(@Param('user_id') userId: string): Balance {
    return this.reader.fromMemory(userId);
  }
}
