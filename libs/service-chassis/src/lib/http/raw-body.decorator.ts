import { SetMetadata } from '@nestjs/common';

/** Metadata key that {@link RawBody} sets and `JsonBodyInterceptor` reads. */
export const RAW_BODY_KEY = 'rawBody';

/**
 * Marks a route that reads its request body itself, as a stream (file uploads), so the
 * JSON body interceptor leaves the body untouched.
 */
export const RawBody = () => SetMetadata(RAW_BODY_KEY, true);
