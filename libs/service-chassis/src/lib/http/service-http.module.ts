import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR } from '@nestjs/core';
import { HttpErrorFilter } from './http-error.filter';
import { JsonBodyInterceptor, MAX_JSON_BODY_BYTES } from './json-body.interceptor';

/** Options of {@link ServiceHttpModule}. */
export interface ServiceHttpOptions {
  /** Largest accepted JSON body in bytes; 413 beyond. */
  readonly maxJsonBodyBytes: number;
}

/**
 * The request handling every service shares: strict JSON bodies read after the guard
 * ({@link JsonBodyInterceptor}) and one error shape ({@link HttpErrorFilter}).
 * Create the Nest application with `bodyParser: false` (as `runService` does).
 */
@Module({})
export class ServiceHttpModule {
  static forRoot(options: ServiceHttpOptions): DynamicModule {
    return {
      module: ServiceHttpModule,
      providers: [
        { provide: MAX_JSON_BODY_BYTES, useValue: options.maxJsonBodyBytes },
        { provide: APP_INTERCEPTOR, useClass: JsonBodyInterceptor },
        { provide: APP_FILTER, useClass: HttpErrorFilter },
      ],
    };
  }
}
