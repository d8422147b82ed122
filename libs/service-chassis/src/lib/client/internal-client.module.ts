import { type DynamicModule, Module } from '@nestjs/common';
import { INTERNAL_CLIENT_OPTIONS } from './internal-client.constants';
import type { InternalClientOptions } from './internal-client.types';
import { InternalHttpClient } from './internal-http-client';

/**
 * Provides {@link InternalHttpClient} to the whole application (global module). Import it once,
 * in the root module of a service that calls other services:
 *
 * ```ts
 * InternalClientModule.forRoot({
 *   callerName: 'backend',
 *   upstreams: { billing: { baseUrl: config.billingUrl } },
 *   client: loadInternalClientConfig(env), // env: what the app's config folder reads
 *   internalAuth: loadInternalAuthConfig(env), // the credential every call carries
 * })
 * ```
 */
@Module({})
export class InternalClientModule {
  static forRoot(options: InternalClientOptions): DynamicModule {
    return {
      module: InternalClientModule,
      global: true,
      providers: [{ provide: INTERNAL_CLIENT_OPTIONS, useValue: options }, InternalHttpClient],
      exports: [InternalHttpClient],
    };
  }
}
