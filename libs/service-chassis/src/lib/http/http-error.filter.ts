import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import {
  type FrameworkRequest,
  type FrameworkResponse,
  nodeRequestOf,
  nodeResponseOf,
  requestPathOf,
} from '@zt/service-utils';
import { randomUUID } from 'node:crypto';
import { currentRequestId } from '../logging/request-context';
import { DependencyUnavailableError } from './dependency-unavailable.error';

/**
 * Gives every error of a service the platform's one shape, `{"error": "<message>", ...}`.
 * A dependency that gave no usable answer (`DependencyUnavailableError`: an upstream service,
 * the database) becomes `503 {"error":"<dependency> unavailable"}`. An unexpected error becomes
 * `500 {"error":"internal error","request_id"}`: no stack trace and no message reach the
 * caller; `request_id` is the request's id (also in its `X-Request-ID` answer header), which
 * every log line of the request carries, the one with the stack included.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(HttpErrorFilter.name);

  // The adapter answers: Express's `status().json()` and Fastify's `code().send()` alike.
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FrameworkResponse>();
    const response = nodeResponseOf(reply);
    const request = nodeRequestOf(http.getRequest<FrameworkRequest>());
    const adapter = this.adapterHost.httpAdapter;
    const answer = (status: number, body: object) => adapter.reply(reply, body, status);
    if (response.headersSent) {
      response.destroy();
      return;
    }
    // Refused before its body was read (a 403 on a large upload, a 413): close the connection
    // after the answer instead of reading and discarding the rest of what we will not use.
    if (!request.complete) response.setHeader('Connection', 'close');
    if (exception instanceof HttpException) {
      answer(exception.getStatus(), toErrorBody(exception));
      return;
    }
    if (exception instanceof DependencyUnavailableError) {
      // Expected when a dependency is down: one line, no stack; the caller learns which one.
      this.logger.warn({
        event: 'dependency_unavailable',
        dependency: exception.dependency,
        reason: exception.reason,
        method: request.method,
        path: requestPathOf(request),
      });
      if (exception.retryAfterSeconds !== undefined) {
        adapter.setHeader(reply, 'Retry-After', String(exception.retryAfterSeconds));
      }
      answer(HttpStatus.SERVICE_UNAVAILABLE, { error: `${exception.dependency} unavailable` });
      return;
    }
    const requestId = currentRequestId() ?? randomUUID();
    this.logger.error({
      event: 'unhandled_error',
      request_id: requestId,
      method: request.method,
      path: requestPathOf(request),
      error:
        exception instanceof Error ? `${exception.name}: ${exception.message}` : 'non-error thrown',
      stack: exception instanceof Error ? exception.stack : undefined,
    });
    answer(HttpStatus.INTERNAL_SERVER_ERROR, { error: 'internal error', request_id: requestId });
  }
}

function toErrorBody(exception: HttpException): Record<string, unknown> {
  const body = exception.getResponse();
  if (typeof body === 'object' && body !== null && 'error' in body && !('statusCode' in body)) {
    return body as Record<string, unknown>;
  }
  // Nest's "Cannot GET /<path>" would echo whatever the caller put in the path.
  if (exception.getStatus() === HttpStatus.NOT_FOUND) return { error: 'not found' };
  // Nest's own exceptions (wrong method, ...) carry `message`.
  const message = typeof body === 'string' ? body : (body as { message?: unknown }).message;
  return { error: typeof message === 'string' ? message : exception.message };
}
