import { Module } from '@nestjs/common';
import { BillingClient } from './billing.client';

/** The auth server's client of billing (over the application's `InternalHttpClient`). */
@Module({ providers: [BillingClient], exports: [BillingClient] })
export class BillingModule {}
