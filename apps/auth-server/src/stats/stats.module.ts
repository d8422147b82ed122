import { Module } from '@nestjs/common';
import { BillingModule } from '../billing/billing.module';
import { UsersModule } from '../users/users.module';
import { StatsController } from './stats.controller';

/** `GET /stats` (internal): users here, subscriptions from billing. */
@Module({ imports: [UsersModule, BillingModule], controllers: [StatsController] })
export class StatsModule {}
