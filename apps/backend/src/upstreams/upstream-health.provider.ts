import type { Provider } from '@nestjs/common';
import { type HealthCheck, HEALTH_CHECKS, InternalHttpClient } from '@zt/service-utils';
import { BILLING_UPSTREAM, FILESYSTEM_UPSTREAM } from './upstream.names';

/**
 * The backend's `HEALTH_CHECKS`: one per upstream, `down` while its circuit breaker is open
 * (the backend then answers that upstream's routes with 503 at once). Reading a breaker's
 * state sends nothing, so `/health` stays cheap and never waits for an upstream.
 */
export const UPSTREAM_HEALTH_CHECKS: Provider = {
  provide: HEALTH_CHECKS,
  inject: [InternalHttpClient],
  useFactory: (client: InternalHttpClient): HealthCheck[] =>
    [BILLING_UPSTREAM, FILESYSTEM_UPSTREAM].map((upstream) => ({
      name: upstream,
      check: async () => {
        if (client.breakerState(upstream) === 'open') {
          throw new Error(`${upstream} circuit breaker is open`);
        }
      },
    })),
};
