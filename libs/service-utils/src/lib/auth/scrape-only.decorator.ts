import { applyDecorators, SetMetadata } from '@nestjs/common';
import { IS_SCRAPE_ONLY_KEY } from './internal-auth.constants';
import { InternalOnly } from './internal-only.decorator';

/**
 * Marks a route that only a metrics scraper may call (`GET /metrics`), in every app, the
 * public backend included. It takes a read-only credential in `Authorization: Bearer`, which
 * a stock Prometheus can send, and never the shared `X-INTERNAL-TOKEN` (which can move money):
 * - `INTERNAL_AUTH_MODE=token`: the metrics token (`METRICS_TOKEN`);
 * - `token+jwt`: the metrics token, or a service token with one of the route's `@Scopes()`;
 * - `jwt`: a service token with one of the route's `@Scopes()` only.
 *
 * Missing or bad: `401 {"error":"unauthorized"}` with `WWW-Authenticate: Bearer
 * error="invalid_token"`; a service token without the scope: 403 `insufficient_scope`. Like
 * `@InternalOnly()` (which it implies), it is outside the app's own global guard.
 */
export const ScrapeOnly = () =>
  applyDecorators(InternalOnly(), SetMetadata(IS_SCRAPE_ONLY_KEY, true));
