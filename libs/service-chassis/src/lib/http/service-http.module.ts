import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { HttpErrorFilter } from './http-error.filter';
import { MAX_JSON_BODY_BYTES } from './json-body.interceptor';

/** Options of {@link ServiceHttpModule}. */
export interface ServiceHttpOptions {
  /** Largest accepted JSON body in bytes; 413 beyond. */
  readonly maxJsonBodyBytes: number;
}

/**
 * The request handling every service shares: strict JSON bodies read after the guard, on the
 * routes that take one (`@JsonBody()`, through `JsonBodyInterceptor`), and one error
 * shape ({@link HttpErrorFilter}). Global, so that a route's `JsonBodyInterceptor` finds its
 * limit in any module. Create the Nest application with `bodyParser: false` (as `runService`
 * does).
 */
@Module({})
export class ServiceHttpModule {
  static forRoot(options: ServiceHttpOptions): DynamicModule {
    return {
      module: ServiceHttpModule,
      global: true,
      providers: [
        { provide: MAX_JSON_BODY_BYTES, useValue: options.maxJsonBodyBytes },
        { provide: APP_FILTER, useClass: HttpErrorFilter },
      ],
      exports: [MAX_JSON_BODY_BYTES],
    };
  }
}
