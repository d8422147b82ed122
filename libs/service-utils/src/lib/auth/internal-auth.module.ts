import { type DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { InternalAuthConfig } from '../config/internal-auth.config';
import { INTERNAL_AUTH_CONFIG } from './internal-auth.constants';
import { InternalTokenGuard } from './internal-token.guard';

/** Which routes {@link InternalAuthModule} guards. */
export interface InternalAuthModuleOptions {
  /**
   * - `every-route` (the default, for an internal service): every route of the application
   *   needs the internal credential unless it says `@Public()`;
   * - `internal-only-routes` (for a public edge, whose own global guard checks its users):
   *   only the routes marked `@InternalOnly()`, such as `GET /metrics`, need it.
   */
  readonly guard?: 'every-route' | 'internal-only-routes';
}

/**
 * The receiving side of internal trust: gives {@link InternalTokenGuard} the accepted tokens
 * and, by default, registers it for every route (`APP_GUARD`), so a new route is protected
 * without anyone remembering to protect it. Import it once, in the root module:
 *
 * ```ts
 * InternalAuthModule.forRoot(loadInternalAuthConfig(env)) // env: what the app's config folder reads
 * ```
 *
 * Outgoing calls take their credential elsewhere (`internalHeaders`, or the chassis's
 * `InternalClientModule`), so a service that only calls out does not import this module.
 */
@Module({})
export class InternalAuthModule {
  static forRoot(
    config: InternalAuthConfig,
    options: InternalAuthModuleOptions = {},
  ): DynamicModule {
    const guardEveryRoute = (options.guard ?? 'every-route') === 'every-route';
    return {
      module: InternalAuthModule,
      global: true,
      providers: [
        { provide: INTERNAL_AUTH_CONFIG, useValue: config },
        ...(guardEveryRoute ? [{ provide: APP_GUARD, useClass: InternalTokenGuard }] : []),
      ],
      exports: [INTERNAL_AUTH_CONFIG],
    };
  }
}
