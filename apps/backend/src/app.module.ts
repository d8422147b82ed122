import { type DynamicModule, Module } from '@nestjs/common';
import { InternalAuthModule } from '@zt/service-utils';
import {
  HealthController,
  HealthModule,
  InternalClientModule,
  LoggingModule,
  MetricsModule,
  RateLimitModule,
  type OpenApiOptions,
  ServiceHttpModule,
} from '@zt/service-chassis';
import { UserAuthModule } from './auth/user-auth.module';
import type { BackendConfig } from './config/backend.config';
import { FilesModule } from './files/files.module';
import { MeModule } from './me/me.module';
import { BILLING_UPSTREAM, FILESYSTEM_UPSTREAM } from './upstreams/upstream.names';
import { USER_PROOF_OPTIONS } from './upstreams/user-assertions';

/**
 * How the backend describes its API: docs/api/backend.json, and Swagger UI at `/docs`
 * (the document itself at `/docs/openapi.json`), without credential.
 */
export const BACKEND_OPENAPI: OpenApiOptions = {
  title: 'backend',
  description:
    'The public API. Every /me route needs a user access token (Authorization: Bearer, from ' +
    "the auth server's POST /login); health and these docs are public.",
  auth: 'bearer',
  docsPath: '/docs',
};

/**
 * The backend, the public API: every route needs a user access token (global
 * `UserTokenGuard`) except health (public) and `/metrics` (internal credential). It calls
 * billing and the filesystem server with the internal credential, and accepts that
 * credential nowhere else. Its readiness is down while an upstream's breaker is open.
 */
@Module({})
export class AppModule {
  /**
   * @param config the validated configuration
   * @param options.configModule the `ConfigModule` it was loaded through (`main.ts`), which
   *   makes it injectable; tests that build `config` from a record leave it out.
   */
  static forRoot(
    config: BackendConfig,
    { configModule }: { configModule?: DynamicModule } = {},
  ): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ...(configModule ? [configModule] : []),
        LoggingModule.forRoot({ service: config.service }),
        MetricsModule.forRoot({ serviceName: config.service.name }),
        RateLimitModule.forRoot({
          serviceName: config.service.name,
          config: config.service.rateLimit,
        }),
        HealthModule,
        // Only GET /metrics takes the internal credential; /me routes have UserTokenGuard.
        InternalAuthModule.forRoot(config.internalAuth, { guard: 'internal-only-routes' }),
        InternalClientModule.forRoot({
          callerName: config.service.name,
          upstreams: {
            [BILLING_UPSTREAM]: { baseUrl: config.billingUrl, audience: 'billing-server' },
            [FILESYSTEM_UPSTREAM]: {
              baseUrl: config.filesystemUrl,
              audience: 'filesystem-server',
            },
          },
          client: config.client,
          internalAuth: config.internalAuth,
        }),
        ServiceHttpModule.forRoot({ maxJsonBodyBytes: config.service.maxJsonBodyBytes }),
        UserAuthModule.forRoot(
          { issuer: config.authUrl, jwks: config.jwks },
          {
            authUrl: config.authUrl,
            timeoutMs: config.client.timeoutMs,
            pollIntervalMs: config.revocationPollMs,
          },
        ),
        {
          module: class UserProofOptionsModule {},
          global: true,
          providers: [{ provide: USER_PROOF_OPTIONS, useValue: config.userProof }],
          exports: [USER_PROOF_OPTIONS],
        },
        MeModule,
        FilesModule.forRoot({
          fileWritePrice: config.fileWritePrice,
          maxFileBytes: config.maxFileBytes,
          uploadBudgetBytes: config.uploadBudgetBytes,
          settleAfterSeconds: config.writeSettleAfterSeconds,
          settleIntervalMs: config.writeSettleIntervalMs,
        }),
      ],
      controllers: [HealthController],
    };
  }
}
