import { type DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { verifiedCallerOf } from '@zt/service-utils';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import type { ServiceConfig } from '../config/service.config';
import { ALL_ROUTES } from '../http/matched-route';
import { REQUEST_ID_KEY, resolveRequestId } from './request-id';
import { createServiceLogger, serializeRequest, serializeResponse } from './service-logger';

/** Options of {@link LoggingModule}: the service's shared settings, and for tests a destination. */
export interface LoggingOptions {
  readonly service: Pick<ServiceConfig, 'name' | 'logFormat' | 'logLevel' | 'logWrites'>;
  /** Where lines go; standard output when absent. */
  readonly destination?: Writable;
  /**
   * Paths that other services poll with `GET` on a timer (e.g. a revocation feed): those
   * successful `request completed` lines are written at debug level, failures as usual.
   */
  readonly polledPaths?: readonly string[];
}

// Probes and scrapes come every few seconds: logging each success would drown everything
// else. Their failures (a 503 readiness, a refused scrape) are logged like any request.
const QUIET_PATHS: ReadonlySet<string> = new Set([
  '/health',
  '/health/live',
  '/health/ready',
  '/metrics',
]);

/**
 * Structured logs for a service (global module), on nestjs-pino:
 * - the Nest logger writes through pino (`runService` installs it), so every
 *   `new Logger(Class.name).warn({ event: ... })` becomes one JSON line with the event's fields
 *   at the top level and `context` = the class name;
 * - every request gets an id: the valid `X-Request-ID` it came with, or a new UUID. It is
 *   echoed in the `X-Request-ID` response header, written as `request_id` on every line logged
 *   while serving the request, and sent on every internal call made for it;
 * - one `request completed` line per request (`req`, `res.status_code`, `response_time_ms`),
 *   `error` level for a 5xx; successful health probes and metrics scrapes are not logged;
 * - credentials never reach the log: see `LOG_REDACT_PATHS` and `redactUrl`.
 *
 * Import it once, in the root module: `LoggingModule.forRoot({ service: config.service })`.
 */
@Module({})
export class LoggingModule {
  static forRoot(options: LoggingOptions): DynamicModule {
    const logger = createServiceLogger({
      name: options.service.name,
      format: options.service.logFormat,
      level: options.service.logLevel,
      writes: options.service.logWrites,
      destination: options.destination,
    });
    const polled = new Set(options.polledPaths);
    return {
      module: LoggingModule,
      global: true,
      imports: [
        LoggerModule.forRoot({
          forRoutes: [ALL_ROUTES],
          pinoHttp: {
            logger,
            genReqId: (request: IncomingMessage, response: ServerResponse) =>
              resolveRequestId(request, response),
            quietReqLogger: true,
            quietResLogger: true,
            customAttributeKeys: { reqId: REQUEST_ID_KEY, responseTime: 'response_time_ms' },
            wrapSerializers: false,
            serializers: { req: serializeRequest, res: serializeResponse },
            customLogLevel: (request, response, error) => {
              if (error !== undefined || response.statusCode >= 500) return 'error';
              if (response.statusCode >= 400) return 'info';
              const path = pathOf(request);
              if (QUIET_PATHS.has(path)) return 'silent';
              return request.method === 'GET' && polled.has(path) ? 'debug' : 'info';
            },
            customSuccessMessage: () => 'request completed',
            customErrorMessage: () => 'request completed',
            // The request, its answer and the time taken; not pino-http's made-up error for a
            // 5xx (the exception filter already logged the real cause, with the same id).
            customSuccessObject: (request, response, value: Record<string, unknown>) =>
              requestLine(request, response, value),
            customErrorObject: (request, response, _error, value: Record<string, unknown>) =>
              requestLine(request, response, value),
          },
        }),
      ],
      exports: [LoggerModule],
    };
  }
}

/**
 * The fields of a `request completed` line: the request, its answer, the time taken and, when
 * the guard verified a service token, the calling service it names (`caller`), which unlike
 * `X-Caller-Service` is proven.
 */
export function requestLine(
  request: IncomingMessage,
  response: ServerResponse,
  value: Record<string, unknown>,
): Record<string, unknown> {
  const caller = verifiedCallerOf(request)?.name;
  return {
    req: request,
    res: response,
    response_time_ms: value['response_time_ms'],
    ...(caller === undefined ? {} : { caller }),
  };
}

function pathOf(request: IncomingMessage): string {
  return (request.url ?? '').split('?')[0];
}
