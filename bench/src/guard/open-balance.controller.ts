import { Controller, Get, Param } from '@nestjs/common';
import { Public } from '@zt/service-utils';
import { type Balance, BalanceReader } from './balance.reader';

/**
 * The same balance read with no guard at all: the baseline of the guard's cost. `@Public()`
 * only documents that openness is intended here; this fixture registers no global guard.
 */
@Controller('open')
@Public()
export class OpenBalanceController {
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
