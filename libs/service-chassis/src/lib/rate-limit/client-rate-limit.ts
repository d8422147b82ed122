import { CallerRateLimit } from '@zt/service-utils';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { ServiceMetrics } from '../metrics/service-metrics';
import { type RateLimitStore, spendPoint } from './rate-limit-store';

/**
 * The internal guard's per-client allowance at one service: `requests` of each calling client
 * per window of `windowSeconds`, counted in {@link RateLimitStore} under the service's name (so
 * every replica of the service shares it when the store is Redis). Refusals are counted in
 * `rate_limited_requests_total{limit="internal_route",client}`.
 */
export class ClientRateLimit extends CallerRateLimit {
  private readonly limiter: RateLimiterAbstract;

  constructor(
    store: RateLimitStore,
    private readonly metrics: ServiceMetrics,
    serviceName: string,
    { requests, windowSeconds }: { requests: number; windowSeconds: number },
  ) {
    super();
    this.limiter = store.limiter(`internal:${serviceName}`, requests, windowSeconds);
  }

  async admit(client: string): Promise<number> {
    const waitMs = await spendPoint(this.limiter, client);
    if (waitMs > 0) this.metrics.rateLimited('internal_route', client);
    return waitMs;
  }
}
