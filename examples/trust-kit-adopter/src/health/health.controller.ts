import { Controller, Get } from '@nestjs/common';
import { Public } from '@zt/service-utils';

/** `GET /health`: for load balancers and probes, which carry no credential. */
@Controller('health')
export class HealthController {
  // Trust kit: the one route open without X-INTERNAL-TOKEN, and it says so.
  @Public()
  @Get()
  check(): { status: 'ok' } {
    return { status: 'ok' };
  }
}
