import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { matchedRoute } from '../http/matched-route';
import { ServiceMetrics } from './service-metrics';

/**
 * Times every request into `http_request_duration_seconds`. The route label is the pattern
 * that matched (Express's `req.route.path`, e.g. `/files/*path`), read when the answer ends,
 * or `unmatched`: raw paths would let any client create unbounded series.
 */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  constructor(private readonly metrics: ServiceMetrics) {}

  use(request: IncomingMessage, response: ServerResponse, next: () => void): void {
    const stop = this.metrics.httpRequestDuration.startTimer();
    // 'close' comes after 'finish', and also when the client went away before the end.
    response.once('close', () => {
      stop({
        method: request.method ?? 'UNKNOWN',
        route: matchedRoute(request) ?? 'unmatched',
        status_code: String(response.statusCode),
      });
    });
    next();
  }
}
