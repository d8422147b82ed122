import {
  type DynamicModule,
  type MiddlewareConsumer,
  Module,
  type NestModule,
} from '@nestjs/common';
import { InternalAuthEvents } from '@zt/service-utils';
import { ALL_ROUTES } from '../http/matched-route';
import { HttpMetricsMiddleware } from './http-metrics.middleware';
import { METRICS_OPTIONS, type MetricsOptions } from './metrics.constants';
import { MetricsController } from './metrics.controller';
import { ServiceMetrics } from './service-metrics';

/**
 * Metrics for a service (global module): provides {@link ServiceMetrics}, times every request,
 * and serves `GET /metrics` to callers with the internal credential. Import it once, in the
 * root module: `MetricsModule.forRoot({ serviceName: config.service.name })`.
 * `InternalTokenGuard` counts its refusals there (as `InternalAuthEvents`), and the breakers of `InternalHttpClient`
 * (when the app has one) are reported at each scrape.
 */
@Module({})
export class MetricsModule implements NestModule {
  static forRoot(options: MetricsOptions): DynamicModule {
    return {
      module: MetricsModule,
      global: true,
      controllers: [MetricsController],
      providers: [
        { provide: METRICS_OPTIONS, useValue: options },
        ServiceMetrics,
        // The internal guard (of the trust kit) reports its refusals here to be counted.
        { provide: InternalAuthEvents, useExisting: ServiceMetrics },
      ],
      exports: [ServiceMetrics, InternalAuthEvents],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpMetricsMiddleware).forRoutes(ALL_ROUTES);
  }
}
