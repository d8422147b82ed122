import { type DynamicModule, Module } from '@nestjs/common';
import {
  HealthController,
  InternalAuthModule,
  InternalClientModule,
  ServiceHttpModule,
} from '@zt/service-utils';
import { UserAuthModule } from './auth/user-auth.module';
import type { BackendConfig } from './config/backend.config';
import { FilesModule } from './files/files.module';
import { MeModule } from './me/me.module';
import { UPSTREAM_HEALTH_CHECKS } from './upstreams/upstream-health.provider';
import { BILLING_UPSTREAM, FILESYSTEM_UPSTREAM } from './upstreams/upstream.names';

/**
 * The backend, the public API: every route needs a user access token (global
 * `UserTokenGuard`) except `GET /health`. It calls billing and the filesystem server with the
 * internal credential, and never accepts that credential itself (no internal guard).
 */
@Module({})
export class AppModule {
  static forRoot(config: BackendConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        InternalAuthModule.forPublicEdge(config.internalAuth),
        InternalClientModule.forRoot({
          callerName: config.service.name,
          upstreams: {
            [BILLING_UPSTREAM]: { baseUrl: config.billingUrl },
            [FILESYSTEM_UPSTREAM]: { baseUrl: config.filesystemUrl },
          },
          client: config.client,
        }),
        ServiceHttpModule.forRoot({ maxJsonBodyBytes: config.service.maxJsonBodyBytes }),
        UserAuthModule.forRoot({ issuer: config.authUrl, jwks: config.jwks }),
        MeModule,
        FilesModule.forRoot({
          fileWritePrice: config.fileWritePrice,
          maxFileBytes: config.maxFileBytes,
        }),
      ],
      controllers: [HealthController],
      providers: [UPSTREAM_HEALTH_CHECKS],
    };
  }
}
