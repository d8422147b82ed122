import { type DynamicModule, Module } from '@nestjs/common';
import { InternalAuthModule } from '@zt/service-utils';
import {
  HealthController,
  HealthModule,
  InternalClientModule,
  LoggingModule,
  MetricsModule,
  ServiceHttpModule,
} from '@zt/service-chassis';
import type { ReportsConfig } from './config/reports.config';
import { LedgerClient } from './reports/ledger.client';
import { ReportsController } from './reports/reports.controller';

/** The reports service: the trust kit's guard, and the chassis around it. */
@Module({})
export class AppModule {
  static forRoot(config: ReportsConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        // JSON log lines with a request id, credentials redacted.
        LoggingModule.forRoot({ service: config.service }),
        // GET /metrics, behind the read-only METRICS_TOKEN; guard refusals counted.
        MetricsModule.forRoot({ serviceName: config.service.name }),
        // GET /health/live and /health/ready (upstream breakers included), public.
        HealthModule,
        // The trust kit: every other route needs X-INTERNAL-TOKEN.
        InternalAuthModule.forRoot(config.internalAuth),
        // Calls to other services: credential, deadline, breaker and safe retries.
        InternalClientModule.forRoot({
          callerName: config.service.name,
          upstreams: { ledger: { baseUrl: config.ledgerUrl } },
          client: config.client,
          internalAuth: config.internalAuth,
        }),
        // Strict JSON bodies read after the guard, and one error shape.
        ServiceHttpModule.forRoot({ maxJsonBodyBytes: config.service.maxJsonBodyBytes }),
      ],
      controllers: [HealthController, ReportsController],
      providers: [LedgerClient],
    };
  }
}
