import { Inject, Injectable, Optional } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import {
  InternalCallCredentials,
  INTERNAL_AUTH_DENIED_REASONS,
  type InternalAuthDeniedReason,
  type InternalAuthEvents,
} from '@zt/service-utils';
import type { BreakerState } from '../client/internal-client.types';
import { InternalHttpClient } from '../client/internal-http-client';
import type { RateLimitName } from '../rate-limit/rate-limit.constants';
import { METRICS_OPTIONS, type MetricsOptions } from './metrics.constants';

const BREAKER_STATES: readonly BreakerState[] = ['closed', 'half_open', 'open'];
// From 1 ms to 10 s: internal calls are milliseconds, an upload or a slow upstream seconds.
const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The metrics of one service, in a registry of its own (never prom-client's global one, so
 * two apps in one process, as in tests, do not collide). Served by `GET /metrics`
 * (`MetricsController`, internal credential required). Series every service has:
 *
 * - `http_request_duration_seconds{method,route,status_code}`: a histogram of every answered
 *   request, by route pattern (e.g. `/balance/:user_id`; `unmatched` when no route matched,
 *   so unknown paths cannot create series);
 * - `internal_auth_denied_total{reason}`: refusals of the internal guard, by reason;
 * - `internal_auth_shadow_denied_total{reason}`: what `INTERNAL_AUTH_SHADOW=jwt` would refuse;
 * - `rate_limited_requests_total{limit,client}`: requests refused past a rate limit
 *   (`internal_route`, `token_endpoint`, `failed_login`), by client (`-` for failed logins,
 *   which are counted per email, never labelled with one);
 * - `internal_circuit_breaker_state{upstream,state}`: for a service that calls others, 1 for
 *   the current state of each upstream's breaker (`closed`, `half_open`, `open`) and 0 for the others;
 * - Node's process metrics (`process_*`, `nodejs_*`) unless turned off.
 *
 * Every series carries the label `service`. An app adds its own metrics to {@link registry}
 * (e.g. billing's ledger operations): `new Counter({ ..., registers: [metrics.registry] })`.
 */
@Injectable()
export class ServiceMetrics implements InternalAuthEvents {
  /** The registry `GET /metrics` serves. */
  readonly registry = new Registry();
  /** Request durations in seconds, by method, route pattern and status code. */
  readonly httpRequestDuration: Histogram<'method' | 'route' | 'status_code'>;
  /** Requests the internal guard refused, by reason. */
  readonly internalAuthDenied: Counter<'reason'>;
  /** Requests `INTERNAL_AUTH_SHADOW=jwt` would have refused, by reason. */
  readonly internalAuthShadowDenied: Counter<'reason'>;
  private readonly rateLimitedRequests: Counter<'limit' | 'client'>;

  constructor(
    @Inject(METRICS_OPTIONS) options: MetricsOptions,
    @Optional() client?: InternalHttpClient,
    @Optional() credentials?: InternalCallCredentials,
  ) {
    this.registry.setDefaultLabels({ service: options.serviceName });
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });

    this.httpRequestDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from receiving a request to the end of its answer, by route pattern and status.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: DURATION_BUCKETS,
      registers: [this.registry],
    });
    this.internalAuthDenied = new Counter({
      name: 'internal_auth_denied_total',
      help: 'Requests refused by the internal guard (401, 403 or 503), by reason.',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    this.internalAuthShadowDenied = new Counter({
      name: 'internal_auth_shadow_denied_total',
      help: 'Requests INTERNAL_AUTH_SHADOW=jwt would have refused (they were let through), by reason.',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    this.rateLimitedRequests = new Counter({
      name: 'rate_limited_requests_total',
      help: 'Requests refused with 429 past a rate limit, by limit and client.',
      labelNames: ['limit', 'client'],
      registers: [this.registry],
    });
    // Every reason shows from the start at 0, so a rate() over it works before the first refusal.
    for (const reason of INTERNAL_AUTH_DENIED_REASONS) this.internalAuthDenied.inc({ reason }, 0);

    if (client && client.upstreamNames().length > 0) {
      new Gauge({
        name: 'internal_circuit_breaker_state',
        help: "State of each upstream's circuit breaker: 1 for the current state, 0 for the others.",
        labelNames: ['upstream', 'state'],
        registers: [this.registry],
        // Read at scrape time: the breakers themselves are the source of truth.
        collect() {
          for (const upstream of client.upstreamNames()) {
            const current = client.breakerState(upstream);
            for (const state of BREAKER_STATES) {
              this.set({ upstream, state }, state === current ? 1 : 0);
            }
          }
        },
      });
    }

    if (credentials?.tokenCounts()) {
      new Counter({
        name: 'internal_service_tokens_total',
        help:
          'Service tokens put on outgoing calls, by source: cached, fetched, stale (cached and ' +
          'due for replacement, or the issuer unreachable) or failed (none to be had).',
        labelNames: ['source'],
        registers: [this.registry],
        // Read at scrape time from the token cache, which counts them.
        collect() {
          this.reset();
          for (const [source, count] of Object.entries(credentials.tokenCounts() ?? {})) {
            this.inc({ source }, count);
          }
        },
      });
    }
  }

  /** Counts one refusal of the internal guard (`InternalAuthEvents`). */
  denied(reason: InternalAuthDeniedReason): void {
    this.internalAuthDenied.inc({ reason });
  }

  /** Counts one request refused past `limit` (`client`: `-` where no client is meant). */
  rateLimited(limit: RateLimitName, client: string): void {
    this.rateLimitedRequests.inc({ limit, client });
  }

  /** Counts one request the shadow check would have refused (`InternalAuthEvents`). */
  shadowDenied(reason: InternalAuthDeniedReason): void {
    this.internalAuthShadowDenied.inc({ reason });
  }
}
