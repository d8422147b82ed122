import { Controller, Get, HttpStatus, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Public } from '../auth/public.decorator';
import { type HealthCheck, HEALTH_CHECKS } from './health-check';

/**
 * `GET /health`, public: `200 {"status":"ok","checks":{...}}` when every check passes,
 * `503 {"status":"unavailable","checks":{...}}` otherwise. Failures are named, never
 * explained: an error message could reveal internals to an unauthenticated caller.
 */
@Controller('health')
export class HealthController {
  constructor(@Inject(HEALTH_CHECKS) private readonly checks: readonly HealthCheck[]) {}

  @Public()
  @Get()
  async health(@Res({ passthrough: true }) response: Response): Promise<Record<string, unknown>> {
    const results = await Promise.all(
      this.checks.map(async ({ name, check }) => {
        try {
          await check();
          return [name, 'up'] as const;
        } catch {
          return [name, 'down'] as const;
        }
      }),
    );
    const healthy = results.every(([, state]) => state === 'up');
    response.status(healthy ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    return { status: healthy ? 'ok' : 'unavailable', checks: Object.fromEntries(results) };
  }
}
