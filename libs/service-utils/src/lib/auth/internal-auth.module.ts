import { type DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { InternalAuthConfig } from '../config/internal-auth.config';
import { INTERNAL_AUTH_CONFIG } from './internal-auth.constants';
import { InternalTokenGuard } from './internal-token.guard';

/**
 * Registers {@link InternalTokenGuard} for every route of the application (`APP_GUARD`)
 * and makes the validated {@link InternalAuthConfig} injectable as `INTERNAL_AUTH_CONFIG`.
 * Import it once, in the root module of every internal service.
 */
@Module({})
export class InternalAuthModule {
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
}
