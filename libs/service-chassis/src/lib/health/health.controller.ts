import {
  Controller,
  Get,
  HttpStatus,
  Inject,
  Logger,
  Optional,
  Res,
  ServiceUnavailableException,
} from '@nestjs/common';
import {
  HealthCheck as TerminusHealthCheck,
  type HealthCheckResult,
  HealthCheckService,
  type HealthIndicatorFunction,
  HealthIndicatorService,
} from '@nestjs/terminus';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '@zt/service-utils';
import { InternalHttpClient } from '../client/internal-http-client';
import { type HealthCheck, HEALTH_CHECK_TIMEOUT_MS, HEALTH_CHECKS } from './health-check';

/**
 * Health endpoints, public on every service (@nestjs/terminus):
 *
 * - `GET /health/live`, liveness: `200` while the process serves HTTP. It checks nothing
 *   else, upstreams least of all: restarting a service because another one is down cures nothing.
 * - `GET /health/ready`, readiness: `200` when every `HEALTH_CHECKS` entry passes (the
 *   database, the data folder) and, for a service that calls others, no upstream's circuit
 *   breaker is open; `503` otherwise, and while the service shuts down. A half-open breaker
 *   counts as ready: the trial call that closes it needs traffic.
 * - `GET /health`, kept for existing probes: the readiness verdict as
 *   `{"status":"ok"|"unavailable","checks":{"<name>":"up"|"down"}}`.
 *
 * Answers name what failed, never why: an error message could tell an unauthenticated caller
 * about internals. Readiness changes are logged once (`readiness_changed`), not per probe.
 */
@ApiTags('operations')
@Controller('health')
export class HealthController {
  private readonly logger = new Logger(HealthController.name);
  private lastReady = true;

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Optional() @Inject(HEALTH_CHECKS) private readonly checks: readonly HealthCheck[] = [],
    @Optional() private readonly client?: InternalHttpClient,
  ) {}

  @Public()
  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process serves HTTP' })
  @TerminusHealthCheck()
  async live(@Res({ passthrough: true }) response: Response): Promise<HealthCheckResult> {
    return this.answer(response, await this.evaluate([]));
  }

  @Public()
  @Get('ready')
  @ApiOperation({ summary: "Readiness: dependencies up, no upstream's breaker open" })
  @TerminusHealthCheck()
  async ready(@Res({ passthrough: true }) response: Response): Promise<HealthCheckResult> {
    return this.answer(response, await this.readiness());
  }

  @Public()
  @Get()
  @ApiOperation({
    summary: 'Readiness in the short form of earlier versions; prefer /health/ready',
    deprecated: true,
  })
  @ApiOkResponse({ description: '{"status":"ok","checks":{"database":"up"}}' })
  @ApiServiceUnavailableResponse({ description: '{"status":"unavailable","checks":{...}}' })
  async summary(@Res({ passthrough: true }) response: Response): Promise<Record<string, unknown>> {
    const result = await this.readiness();
    this.answer(response, result);
    return {
      status: result.status === 'ok' ? 'ok' : 'unavailable',
      checks: Object.fromEntries(
        Object.entries(result.details).map(([name, detail]) => [name, detail.status]),
      ),
    };
  }

  private async readiness(): Promise<HealthCheckResult> {
    const result = await this.evaluate([
      ...this.checks.map((check) => this.dependencyIndicator(check)),
      ...(this.client?.upstreamNames() ?? []).map((upstream) => this.breakerIndicator(upstream)),
    ]);
    const ready = result.status === 'ok';
    if (ready !== this.lastReady) {
      this.lastReady = ready;
      const down = Object.keys(result.error ?? {});
      if (ready) this.logger.log({ event: 'readiness_changed', ready });
      else this.logger.warn({ event: 'readiness_changed', ready, down });
    }
    return result;
  }

  private dependencyIndicator({ name, check }: HealthCheck): HealthIndicatorFunction {
    return async () => {
      const indicator = this.indicators.check(name);
      try {
        await withDeadline(check(), HEALTH_CHECK_TIMEOUT_MS);
        return indicator.up();
      } catch {
        return indicator.down();
      }
    };
  }

  private breakerIndicator(upstream: string): HealthIndicatorFunction {
    return () => {
      const indicator = this.indicators.check(upstream);
      // Reading a breaker sends nothing: readiness never waits for an upstream.
      const breaker = this.client?.breakerState(upstream) ?? 'closed';
      return breaker === 'open' ? indicator.down({ breaker }) : indicator.up({ breaker });
    };
  }

  private async evaluate(indicators: HealthIndicatorFunction[]): Promise<HealthCheckResult> {
    try {
      return await this.health.check(indicators);
    } catch (error) {
      // Terminus throws its result as a 503 when a check is down or the app is shutting down.
      if (error instanceof ServiceUnavailableException) {
        return error.getResponse() as HealthCheckResult;
      }
      throw error;
    }
  }

  private answer(response: Response, result: HealthCheckResult): HealthCheckResult {
    response.status(result.status === 'ok' ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    return result;
  }
}

/** `work`, or a rejection once `ms` have passed without it settling. */
function withDeadline(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
