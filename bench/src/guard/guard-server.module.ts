import { type DynamicModule, Module } from '@nestjs/common';
import { InternalAuthModule } from '@zt/service-utils';
import {
  LoggingModule,
  MetricsModule,
  RateLimitModule,
  ServiceHttpModule,
} from '@zt/service-chassis';
import type { GuardServerConfig } from '../config/guard-server.config';
import { AllowAllBalanceController } from './allow-all-balance.controller';
import { BalanceReader, BENCH_DATABASE_URL } from './balance.reader';
import { GuardedBalanceController } from './guarded-balance.controller';
import { OpenBalanceController } from './open-balance.controller';

/**
 * The guard fixture: one process, one handler ({@link BalanceReader}) mounted twice,
 * `/guarded/...` behind `InternalTokenGuard` and `/open/...` without it (and `/allow-all/...`
 * behind a guard that returns true, to tell Nest's share from ours), on the request
 * pipeline of the billing server (`runService`; the logging, metrics and HTTP modules it
 * imports, in its order; the rate limit off unless `RATE_LIMIT_INTERNAL_REQUESTS` says). The guard covers only the routes that ask for it.
 */
@Module({})
export class GuardServerModule {
  static forRoot(config: GuardServerConfig): DynamicModule {
    return {
      module: GuardServerModule,
      imports: [
        LoggingModule.forRoot({ service: config.service }),
        MetricsModule.forRoot({ serviceName: config.service.name }),
        RateLimitModule.forRoot({
          serviceName: config.service.name,
          config: config.service.rateLimit,
        }),
        InternalAuthModule.forRoot(config.internalAuth, { guard: 'internal-only-routes' }),
        ServiceHttpModule.forRoot({ maxJsonBodyBytes: config.service.maxJsonBodyBytes }),
      ],
      controllers: [GuardedBalanceController, OpenBalanceController, AllowAllBalanceController],
      providers: [{ provide: BENCH_DATABASE_URL, useValue: config.databaseUrl }, BalanceReader],
    };
  }
}
