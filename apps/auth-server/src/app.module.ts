import { type DynamicModule, Module } from '@nestjs/common';
import { DATABASE_HEALTH_CHECKS, DatabaseModule, embeddedDatabaseDirectory } from '@zt/database';
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
import { join } from 'node:path';
import type { AuthConfig } from './config/auth.config';
import { AUTH_MIGRATIONS } from './database/auth.migrations';
import { BILLING_UPSTREAM } from './billing/billing.client';
import { InvitesModule } from './invites/invites.module';
import { OAuthModule } from './oauth/oauth.module';
import { ServiceTokenIssuer } from './oauth/service-token.issuer';
import { SessionsModule } from './sessions/sessions.module';
import { StatsModule } from './stats/stats.module';
import { TokensModule } from './tokens/tokens.module';
import { UsersModule } from './users/users.module';

/** How the auth server describes its API (docs/api/auth-server.json); it serves no docs. */
export const AUTH_OPENAPI: OpenApiOptions = {
  title: 'auth-server',
  description:
    'Users, invites, login and the JWKS of user access tokens; service tokens for the other ' +
    'services (OAuth 2.0 client credentials). Register, login, the JWKS, the token endpoint, ' +
    'its metadata and health are public; invites, stats and metrics need X-INTERNAL-TOKEN.',
  auth: 'internal-token',
};

/**
 * The auth server: register, login, JWKS and health are public; invites and stats are
 * internal (guarded). Its readiness includes its database and its breaker towards billing.
 */
@Module({})
export class AppModule {
  /**
   * @param config the validated configuration
   * @param options.configModule the `ConfigModule` it was loaded through (`main.ts`), which
   *   makes it injectable; tests that build `config` from a record leave it out.
   * @param options.embeddedDirectory where PGlite keeps its files when there is no
   *   `DATABASE_URL` (default: under the data folder); tests pass `null` for an in-memory database.
   */
  static forRoot(
    config: AuthConfig,
    {
      configModule,
      embeddedDirectory = embeddedDatabaseDirectory(config.service.dataDir),
    }: { configModule?: DynamicModule; embeddedDirectory?: string | null } = {},
  ): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ...(configModule ? [configModule] : []),
        // Every backend reads the revocation feed every few seconds.
        LoggingModule.forRoot({ service: config.service, polledPaths: ['/revocations'] }),
        MetricsModule.forRoot({ serviceName: config.service.name }),
        RateLimitModule.forRoot({
          serviceName: config.service.name,
          config: config.service.rateLimit,
        }),
        HealthModule,
        InternalAuthModule.forRoot(config.internalAuth),
        InternalClientModule.forRoot({
          callerName: config.service.name,
          upstreams: {
            [BILLING_UPSTREAM]: { baseUrl: config.billingUrl, audience: 'billing-server' },
          },
          client: config.client,
          internalAuth: config.internalAuth,
          // The issuer mints its own tokens: no call to itself, no secret of its own.
          serviceTokens: {
            inject: [ServiceTokenIssuer],
            useFactory: (issuer: ServiceTokenIssuer) => issuer.ownTokens,
          },
        }),
        ServiceHttpModule.forRoot({ maxJsonBodyBytes: config.service.maxJsonBodyBytes }),
        DatabaseModule.forRoot({
          url: config.databaseUrl,
          embeddedDirectory: embeddedDirectory ?? undefined,
          schema: 'auth',
          migrations: AUTH_MIGRATIONS,
        }),
        TokensModule.forRoot({
          signingKeyFile:
            config.signingKeyFile ?? join(config.service.dataDir, 'signing-key.jwk.json'),
          issuer: config.issuer,
          accessTokenTtlSeconds: config.accessTokenTtlSeconds,
        }),
        OAuthModule.forRoot({
          ...config.oauth,
          issuer: config.issuer,
          signingKeysFile:
            config.oauth.signingKeysFile ??
            join(config.service.dataDir, 'service-signing-keys.json'),
        }),
        UsersModule,
        InvitesModule,
        SessionsModule,
        StatsModule,
      ],
      controllers: [HealthController],
      providers: [DATABASE_HEALTH_CHECKS],
    };
  }
}
