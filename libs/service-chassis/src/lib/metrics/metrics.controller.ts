import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { InternalOnly, Scopes } from '@zt/service-utils';
import { ServiceMetrics } from './service-metrics';

/**
 * `GET /metrics`: the service's metrics in the Prometheus text format. It needs the internal
 * credential (`X-INTERNAL-TOKEN`) on every service, the public backend included
 * (`@InternalOnly()`): 403 otherwise. Prometheus sends the header from a file
 * (`http_headers` in its scrape config; see docs/decisions.md).
 */
@ApiTags('operations')
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: ServiceMetrics) {}

  @InternalOnly()
  @Scopes('metrics:read')
  @Get()
  @ApiOperation({ summary: 'Prometheus metrics (needs X-INTERNAL-TOKEN)' })
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
