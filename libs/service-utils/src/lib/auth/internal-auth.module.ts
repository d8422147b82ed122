import { type DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { InternalAuthConfig } from '../config/internal-auth.config';
import { INTERNAL_AUTH_CONFIG } from './internal-auth.constants';
import { InternalTokenGuard } from './internal-token.guard';

/**
 * Makes the validated {@link InternalAuthConfig} injectable as `INTERNAL_AUTH_CONFIG` (the
 * internal client sends its token) and, for internal services, guards every route.
 */
@Module({})
export class InternalAuthModule {
  /**
   * For an internal service: registers {@link InternalTokenGuard} for every route of the
   * application (`APP_GUARD`), so a route is open only when it says `@Public()`. Import it
   * once, in the root module.
   */
  static forRoot(config: InternalAuthConfig): DynamicModule {
    return {
      module: InternalAuthModule,
      global: true,
      providers: [
        { provide: INTERNAL_AUTH_CONFIG, useValue: config },
        { provide: APP_GUARD, useClass: InternalTokenGuard },
      ],
      exports: [INTERNAL_AUTH_CONFIG],
    };
  }

  /**
   * For the public edge (the backend), which calls internal services but is called by end
   * users: provides the credential to the internal client and registers no internal guard.
   * Such an app must register its own global guard (e.g. a user-token guard) instead.
   */
  static forPublicEdge(config: InternalAuthConfig): DynamicModule {
    return {
      module: InternalAuthModule,
      global: true,
      providers: [{ provide: INTERNAL_AUTH_CONFIG, useValue: config }],
      exports: [INTERNAL_AUTH_CONFIG],
    };
  }
}
