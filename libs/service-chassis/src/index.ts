// The service chassis: how our services boot, log, report health and metrics, and call each
// other. It builds on the trust kit (@zt/service-utils) and brings the heavier dependencies
// (pino, terminus, prom-client, opossum, swagger) that a team adopting only the guard does
// not need.

// Configuration shared by every service
export * from './lib/config/service.config';
// Loading it: .env under the environment, through @nestjs/config's ConfigModule
export * from './lib/config/service-config-module';
// Request handling shared by every service
export * from './lib/http/dependency-unavailable.error';
export * from './lib/http/http-adapter';
export * from './lib/http/http-error';
export * from './lib/http/http-error.filter';
export * from './lib/http/json-body.decorator';
export * from './lib/http/json-body.interceptor';
export * from './lib/http/matched-route';
export * from './lib/http/run-service';
export * from './lib/http/service-http.module';
export * from './lib/http/strict-json';
export * from './lib/http/zod-body.pipe';
// Health: /health/live, /health/ready (@nestjs/terminus)
export * from './lib/health/health-check';
export * from './lib/health/health.controller';
export * from './lib/health/health.module';
// Metrics: GET /metrics for Prometheus (prom-client), behind the internal credential
export * from './lib/metrics/http-metrics.middleware';
export * from './lib/metrics/metrics.constants';
export * from './lib/metrics/metrics.controller';
export * from './lib/metrics/metrics.module';
export * from './lib/metrics/service-metrics';
// Rate limits: per client, counted in Redis (REDIS_URL) or in memory (rate-limiter-flexible)
export * from './lib/rate-limit/client-rate-limit';
export * from './lib/rate-limit/rate-limit.config';
export * from './lib/rate-limit/rate-limit.constants';
export * from './lib/rate-limit/rate-limit.module';
export * from './lib/rate-limit/rate-limit-store';
// Logs: pino JSON lines (nestjs-pino), request ids across services, redaction of secrets
export * from './lib/logging/log-redaction';
export * from './lib/logging/logging.module';
export * from './lib/logging/request-context';
export * from './lib/logging/request-id';
export * from './lib/logging/service-logger';
// OpenAPI (@nestjs/swagger): documents derived from the guards' metadata
export * from './lib/openapi/api-endpoint.decorator';
export * from './lib/openapi/openapi-docs';
export * from './lib/openapi/openapi-document';
export * from './lib/openapi/openapi.options';
export * from './lib/openapi/write-openapi';
// Internal calls: one client with keep-alive, timeouts, retries and a breaker per upstream
export * from './lib/config/internal-client.config';
export * from './lib/client/internal-client.constants';
export * from './lib/client/internal-client.module';
export * from './lib/client/internal-client.types';
export * from './lib/client/internal-http-client';
export * from './lib/client/unexpected-upstream-answer.error';
export * from './lib/client/upstream-unavailable.error';
