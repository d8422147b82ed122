import { type DynamicModule, Module } from '@nestjs/common';
import { DATABASE_HEALTH_CHECKS, DatabaseModule, embeddedDatabaseDirectory } from '@zt/database';
import { InternalAuthModule, UserProofModule } from '@zt/service-utils';
import {
  HealthController,
  HealthModule,
  LoggingModule,
  MetricsModule,
  RateLimitModule,
  type OpenApiOptions,
  ServiceHttpModule,
} from '@zt/service-chassis';
import { BillingModule } from './billing/billing.module';
import type { BillingConfig } from './config/billing.config';
import { BILLING_MIGRATIONS } from './database/billing.migrations';
import { DatabaseRoundTripsMetric } from './database/database-round-trips.metric';

/** How the billing server describes its API (docs/api/billing-server.json); it serves no docs. */
export const BILLING_OPENAPI: OpenApiOptions = {
  title: 'billing-server',
  description:
    'Accounts and the credit ledger. Internal: every route but health needs X-INTERNAL-TOKEN.',
  auth: 'internal-token',
};

/** The billing server: every route internal (guarded) except health. */
@Module({})
export class AppModule {
  /**
   * @param config the validated configuration
   * @param options.configModule the `ConfigModule` it was loaded through (`main.ts`), which
   *   makes it injectable; tests that build `config` from a record leave it out.
   * @param options.embeddedDirectory where PGlite keeps its files when there is no
   *   `DATABASE_URL` (default: under the data folder); tests pass `null` for an in-memory database.
   */
  static forRoot(
    config: BillingConfig,
    {
      configModule,
      embeddedDirectory = embeddedDatabaseDirectory(config.service.dataDir),
    }: { configModule?: DynamicModule; embeddedDirectory?: string | null } = {},
  ): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ...(configModule ? [configModule] : []),
        // The backend's resolver lists open holds every few seconds.
        LoggingModule.forRoot({ service: config.service, polledPaths: ['/holds'] }),
        MetricsModule.forRoot({ serviceName: config.service.name }),
        RateLimitModule.forRoot({
          serviceName: config.service.name,
          config: config.service.rateLimit,
        }),
        HealthModule,
        InternalAuthModule.forRoot(config.internalAuth),
        UserProofModule.forRoot(config.userProof),
        ServiceHttpModule.forRoot({ maxJsonBodyBytes: config.service.maxJsonBodyBytes }),
        DatabaseModule.forRoot({
          url: config.databaseUrl,
          embeddedDirectory: embeddedDirectory ?? undefined,
          schema: 'billing',
          migrations: BILLING_MIGRATIONS,
        }),
        BillingModule.forRoot({ idempotencyKeyTtlHours: config.idempotencyKeyTtlHours }),
      ],
      controllers: [HealthController],
      providers: [DATABASE_HEALTH_CHECKS, DatabaseRoundTripsMetric],
    };
  }
}
