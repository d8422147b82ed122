import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ScrapeOnly, Scopes } from '@zt/service-utils';
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
  async scrape(@Res({ passthrough: true }) response: Response): Promise<string> {
    const body = await this.metrics.registry.metrics();
    response.setHeader('Content-Type', this.metrics.registry.contentType);
    response.setHeader('Cache-Control', 'no-store');
    return body;
  }
}
