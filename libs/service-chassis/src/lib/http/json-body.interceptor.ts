import {
  type CallHandler,
  type ExecutionContext,
  HttpStatus,
  Inject,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { type FrameworkRequest, nodeRequestOf } from '@zt/service-utils';
import type { IncomingMessage } from 'node:http';
import { from, type Observable, switchMap } from 'rxjs';
import { HttpError } from './http-error';
import { parseStrictJson, StrictJsonError } from './strict-json';

/** Injection token of the JSON body limit in bytes. */
export const MAX_JSON_BODY_BYTES = Symbol('MAX_JSON_BODY_BYTES');

/**
 * Reads and strictly parses a route's JSON request body into `request.body`, for the routes
 * that ask for one with `@JsonBody()`.
 *
 * It is an interceptor, not a framework's body parser, on purpose: interceptors run after guards,
 * so no byte of an unauthenticated request's body is read or parsed. And it is the route's, not
 * global: Nest runs a route without interceptors on a much shorter path (no rxjs pipeline, no
 * async resource bound per interceptor), which every GET gets. It answers 413 past the
 * size limit (before reading when `Content-Length` says so), 415 for a body that is not
 * `application/json`, and 400 for malformed JSON, invalid UTF-8, repeated keys, `__proto__`
 * keys, or a top level that is not an object. No body at all is left to the route's schema
 * (`@JsonBody()` answers 400).
 */
@Injectable()
export class JsonBodyInterceptor implements NestInterceptor {
  constructor(@Inject(MAX_JSON_BODY_BYTES) private readonly maxBytes: number) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const framework = context.switchToHttp().getRequest<FrameworkRequest & { body?: unknown }>();
    // Node's request on either adapter: its headers and its unread body stream.
    const request = nodeRequestOf(framework);
    if (!hasBody(request)) return next.handle();
    return from(this.readJson(request)).pipe(
      switchMap((body) => {
        // Where `@Body()` reads it: the adapter's request (Express's is Node's own).
        framework.body = body;
        return next.handle();
      }),
    );
  }

  private async readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
    const contentType = (request.headers['content-type'] ?? '').toLowerCase();
    if (!/^application\/json\s*(;\s*charset=utf-8\s*)?$/.test(contentType)) {
      throw new HttpError(
        HttpStatus.UNSUPPORTED_MEDIA_TYPE,
        'Content-Type must be application/json',
      );
    }
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > this.maxBytes) throw this.tooLarge();

    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of request as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > this.maxBytes) throw this.tooLarge();
        chunks.push(chunk);
      }
    } catch (error) {
      if (error instanceof HttpError) throw error;
      // The caller went away mid-body: an expected event, not an error of ours to log.
      throw new HttpError(HttpStatus.BAD_REQUEST, 'incomplete request body');
    }

    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
    } catch {
      throw new HttpError(HttpStatus.BAD_REQUEST, 'request body is not valid UTF-8');
    }
    let parsed: unknown;
    try {
      parsed = parseStrictJson(text);
    } catch (error) {
      if (error instanceof StrictJsonError) {
        throw new HttpError(HttpStatus.BAD_REQUEST, `malformed JSON: ${error.message}`);
      }
      throw error;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new HttpError(HttpStatus.BAD_REQUEST, 'request body must be a JSON object');
    }
    return parsed as Record<string, unknown>;
  }

  private tooLarge(): HttpError {
    return new HttpError(
      HttpStatus.PAYLOAD_TOO_LARGE,
      `request body is larger than ${this.maxBytes} bytes`,
    );
  }
}

function hasBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  return (
    request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
  );
}
