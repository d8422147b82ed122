import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ScrapeOnly, Scopes } from '@zt/service-utils';
import { Registry } from 'prom-client';
import { ServiceMetrics } from './service-metrics';

/**
 * `GET /metrics`: the service's metrics in the Prometheus text format, on every service, the
 * public backend included. It takes a read-only scrape credential in `Authorization: Bearer`
 * (`@ScrapeOnly()`), which any Prometheus sends from a file: the metrics token
 * (`METRICS_TOKEN`) in `token` and `token+jwt` mode, or the `metrics-scraper` client's service
 * token (`metrics:read`) in `token+jwt` and `jwt` mode. `X-INTERNAL-TOKEN` does not open it;
 * 401 otherwise (docs/prometheus.md).
 */
@ApiTags('operations')
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: ServiceMetrics) {}

  @ScrapeOnly()
  @Scopes('metrics:read')
  @Get()
  @ApiOperation({
    summary:
      'Prometheus metrics (needs Authorization: Bearer <metrics token or metrics:read service token>)',
  })
  @ApiOkResponse({
    description: 'Prometheus text exposition format',
    content: { 'text/plain': { schema: { type: 'string' } } },
  })
  // Headers through Nest, so that they hold on either HTTP adapter (Fastify's reply would
  // replace a Content-Type set on Node's response). prom-client's default registry type.
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  @Header('Cache-Control', 'no-store')
  async scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
