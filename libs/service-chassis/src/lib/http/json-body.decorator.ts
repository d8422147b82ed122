import { Body } from '@nestjs/common';
import { INTERCEPTORS_METADATA } from '@nestjs/common/constants';
import type { ZodType, ZodTypeDef } from 'zod';
import { JsonBodyInterceptor } from './json-body.interceptor';
import { ZodBodyPipe } from './zod-body.pipe';

/**
 * The route's JSON body, read strictly and checked against a zod schema:
 * `@JsonBody(schema) body: T`.
 *
 * The body is read by {@link JsonBodyInterceptor}, which this decorator puts first among the
 * route's own interceptors: after every guard (no byte of an unauthenticated request is read)
 * and before the route's other interceptors (`@ActsForUser({ body })` compares the user it
 * names). Only routes that take a JSON body get it: a route without one has no interceptor
 * to pay for, and no body is read where nothing asks for it (a file upload reads its own
 * stream). Use strict object schemas, so that an unknown field is a 400.
 */
export function JsonBody<T>(schema: ZodType<T, ZodTypeDef, unknown>): ParameterDecorator {
  const body = Body(new ZodBodyPipe(schema));
  return (target, key, index) => {
    body(target, key, index);
    const handler =
      key === undefined ? undefined : (target as Record<string | symbol, unknown>)[key];
    if (typeof handler !== 'function') throw new Error('@JsonBody() goes on a route handler');
    const others = (Reflect.getMetadata(INTERCEPTORS_METADATA, handler) ?? []) as unknown[];
    Reflect.defineMetadata(INTERCEPTORS_METADATA, [JsonBodyInterceptor, ...others], handler);
  };
}
