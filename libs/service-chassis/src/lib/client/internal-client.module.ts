import { type DynamicModule, Module } from '@nestjs/common';
import { InternalCallCredentials, type ServiceTokenFetcher } from '@zt/service-utils';
import { INTERNAL_CLIENT_OPTIONS } from './internal-client.constants';
import type { InternalClientOptions } from './internal-client.types';
import { InternalHttpClient } from './internal-http-client';

/**
 * Provides {@link InternalHttpClient} and the trust kit's `InternalCallCredentials` (for a
 * call made without the client) to the whole application (global module). Import it once,
 * in the root module of a service that calls other services:
 *
 * ```ts
 * InternalClientModule.forRoot({
 *   callerName: 'backend',
 *   upstreams: { billing: { baseUrl: config.billingUrl, audience: 'billing-server' } },
 *   client: loadInternalClientConfig(env), // env: what the app's config folder reads
 *   internalAuth: loadInternalAuthConfig(env, { serviceName: 'backend' }), // what calls carry
 * })
 * ```
 */
@Module({})
export class InternalClientModule {
  static forRoot(options: InternalClientOptions): DynamicModule {
    const tokens = options.serviceTokens;
    const credentials = (fetcher?: ServiceTokenFetcher) =>
      new InternalCallCredentials(options.internalAuth, {
        timeoutMs: options.client.timeoutMs,
        fetcher,
      });
    return {
      module: InternalClientModule,
      global: true,
      imports: tokens?.imports ?? [],
      providers: [
        { provide: INTERNAL_CLIENT_OPTIONS, useValue: options },
        tokens
          ? {
              provide: InternalCallCredentials,
              inject: tokens.inject ?? [],
              useFactory: (...dependencies: never[]) =>
                credentials(tokens.useFactory(...dependencies)),
            }
          : { provide: InternalCallCredentials, useFactory: () => credentials() },
        InternalHttpClient,
      ],
      exports: [InternalHttpClient, InternalCallCredentials],
    };
  }
}
