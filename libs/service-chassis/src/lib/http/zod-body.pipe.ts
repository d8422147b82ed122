import { HttpStatus, type PipeTransform } from '@nestjs/common';
import type { ZodType, ZodTypeDef } from 'zod';
import { HttpError } from './http-error';

/**
 * Validates a request body against a zod schema: `@Body(new ZodBodyPipe(schema))`.
 * Use strict object schemas, so that an unknown field (`{"tier":"admin"}` sneaking into
 * another endpoint) is a 400, not silently ignored. Answers
 * `400 {"error":"invalid request","details":[{"field","message"}]}`.
 */
export class ZodBodyPipe<T> implements PipeTransform<unknown, T> {
  constructor(private readonly schema: ZodType<T, ZodTypeDef, unknown>) {}

  transform(value: unknown): T {
    if (value === undefined) {
      throw new HttpError(HttpStatus.BAD_REQUEST, 'request body must be a JSON object');
    }
    const result = this.schema.safeParse(value);
    if (result.success) return result.data;
    throw new HttpError(HttpStatus.BAD_REQUEST, 'invalid request', {
      details: result.error.issues.map((issue) => ({
        field: issue.path.join('.'),
        message: issue.message,
      })),
    });
  }
}
