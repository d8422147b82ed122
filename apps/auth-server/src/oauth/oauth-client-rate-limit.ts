import { Inject, Injectable } from '@nestjs/common';
import { RateLimitStore, ServiceMetrics, spendPoint } from '@zt/service-chassis';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { OAUTH_OPTIONS } from './oauth.constants';
import { OAuthError } from './oauth.error';
import type { OAuthModuleOptions } from './oauth.module-options';

/**
 * Each authenticated client's allowance of service tokens (client credentials grant) and
 * revocations together (`RATE_LIMIT_OAUTH_PER_MINUTE`), counted in the rate-limit store (Redis: across
 * every replica of the auth server). Per client id, never per address: the limit is checked
 * once the client has proven itself, so nobody can spend another client's allowance.
 */
@Injectable()
export class OAuthClientRateLimit {
  private readonly limiter: RateLimiterAbstract | undefined;

  constructor(
    store: RateLimitStore,
    private readonly metrics: ServiceMetrics,
    @Inject(OAUTH_OPTIONS) options: OAuthModuleOptions,
  ) {
    if (options.clientRequestsPerMinute > 0) {
      this.limiter = store.limiter('oauth', options.clientRequestsPerMinute, 60);
    }
  }

  /**
   * Spends one request of `clientId`'s allowance.
   * @throws OAuthError `429 temporarily_unavailable` with `Retry-After` when none is left.
   */
  async admit(clientId: string): Promise<void> {
    if (this.limiter === undefined) return;
    const waitMs = await spendPoint(this.limiter, clientId);
    if (waitMs === 0) return;
    this.metrics.rateLimited('token_endpoint', clientId);
    throw new OAuthError(
      'temporarily_unavailable',
      'too many requests from this client; try again after Retry-After seconds',
      429,
      Math.ceil(waitMs / 1000),
    );
  }
}
