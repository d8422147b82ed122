import { Inject, Injectable, Optional } from '@nestjs/common';
import { ServiceMetrics } from '@zt/service-chassis';
import { Counter } from 'prom-client';
import { OAUTH_OPTIONS } from './oauth.constants';
import type { OAuthModuleOptions } from './oauth.module-options';

/** The `client_id` label of a request whose client did not authenticate. */
export const UNAUTHENTICATED_CLIENT = 'unauthenticated';

/**
 * Counts the answers of the token endpoint in `oauth_token_requests_total{client_id,result}`:
 * `result` is `issued` or the RFC 6749 error code it answered (`invalid_client`,
 * `invalid_scope`, ...). `client_id` is a client of the policy once it has authenticated, else
 * {@link UNAUTHENTICATED_CLIENT}: a name a caller merely claims never becomes a series.
 */
@Injectable()
export class TokenIssuanceMetrics {
  private readonly requests: Counter<'client_id' | 'result'> | undefined;

  constructor(
    @Inject(OAUTH_OPTIONS) options: OAuthModuleOptions,
    @Optional() metrics?: ServiceMetrics,
  ) {
    if (!metrics) return;
    this.requests = new Counter({
      name: 'oauth_token_requests_total',
      help:
        'Token requests at POST /oauth2/token by authenticated client id (or unauthenticated) ' +
        'and result (issued, or the RFC 6749 error code answered).',
      labelNames: ['client_id', 'result'],
      registers: [metrics.registry],
    });
    // Shown from the start at 0, so a rate() over them works before the first request.
    for (const client of options.clients) {
      if (Object.keys(client.audiences).length > 0) {
        this.requests.inc({ client_id: client.clientId, result: 'issued' }, 0);
      }
    }
    this.requests.inc({ client_id: UNAUTHENTICATED_CLIENT, result: 'invalid_client' }, 0);
  }

  /** Counts one answer of the token endpoint. */
  record(clientId: string, result: string): void {
    this.requests?.inc({ client_id: clientId, result });
  }
}
