import { type DynamicModule, Module } from '@nestjs/common';
import { CallerRateLimit } from '@zt/service-utils';
import { ServiceMetrics } from '../metrics/service-metrics';
import { ClientRateLimit } from './client-rate-limit';
import type { RateLimitConfig } from './rate-limit.config';
import { RateLimitStore } from './rate-limit-store';

/** What {@link RateLimitModule} needs. */
export interface RateLimitModuleOptions {
  /** The service's name: its internal routes' counts are kept under it. */
  readonly serviceName: string;
  readonly config: RateLimitConfig;
}

/**
 * Rate limits for a service (global module): provides {@link RateLimitStore} (Redis when
 * `REDIS_URL` is set, connected before the app starts; memory otherwise) for the app's own limits, and gives the internal guard
 * its per-client allowance ({@link ClientRateLimit}) unless `RATE_LIMIT_INTERNAL_REQUESTS`
 * is 0. Import it once, in the root module, beside `MetricsModule`:
 * `RateLimitModule.forRoot({ serviceName: config.service.name, config: config.service.rateLimit })`.
 */
@Module({})
export class RateLimitModule {
  static forRoot({ serviceName, config }: RateLimitModuleOptions): DynamicModule {
    const limitInternal = config.internalRequests > 0;
    return {
      module: RateLimitModule,
      global: true,
      providers: [
        {
          provide: RateLimitStore,
          useFactory: () => RateLimitStore.open(config),
        },
        ...(limitInternal
          ? [
              {
                provide: CallerRateLimit,
                useFactory: (store: RateLimitStore, metrics: ServiceMetrics) =>
                  new ClientRateLimit(store, metrics, serviceName, {
                    requests: config.internalRequests,
                    windowSeconds: config.internalWindowSeconds,
                  }),
                inject: [RateLimitStore, ServiceMetrics],
              },
            ]
          : []),
      ],
      exports: [RateLimitStore, ...(limitInternal ? [CallerRateLimit] : [])],
    };
  }
}
