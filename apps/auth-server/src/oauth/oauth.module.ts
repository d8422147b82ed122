import {
  type DynamicModule,
  type MiddlewareConsumer,
  Module,
  type NestModule,
  RequestMethod,
} from '@nestjs/common';
import { ClientAuthenticator } from './client-authenticator';
import { NoStoreMiddleware } from './no-store.middleware';
import { OAuthClientRateLimit } from './oauth-client-rate-limit';
import { OAUTH_OPTIONS } from './oauth.constants';
import { OAuthMetadataController } from './oauth-metadata.controller';
import type { OAuthModuleOptions } from './oauth.module-options';
import { ServiceSigningKeys } from './service-signing-keys.service';
import { ServiceTokenInspector } from './service-token.inspector';
import { ServiceTokenIssuer } from './service-token.issuer';
import { ServiceTokenRevocationsRepository } from './service-token-revocations.repository';
import { TokenController } from './token.controller';
import { TokenIssuanceMetrics } from './token-issuance.metrics';
import { TokenStatusController } from './token-status.controller';
import { UserAssertionIssuer } from './user-assertion.issuer';
import { UsersModule } from '../users/users.module';

/**
 * The auth server as the OAuth 2.0 authorization server of the services (DESIGN section 9):
 * the token endpoint, introspection and revocation, the metadata, the service-token key set,
 * and {@link ServiceTokenIssuer}
 * (global), with which the auth server mints its own tokens in-process.
 */
@Module({})
export class OAuthModule implements NestModule {
  static forRoot(options: OAuthModuleOptions): DynamicModule {
    return {
      module: OAuthModule,
      global: true,
      // The users' sessions, which an exchanged user token must still be part of.
      imports: [UsersModule],
      controllers: [TokenController, TokenStatusController, OAuthMetadataController],
      providers: [
        { provide: OAUTH_OPTIONS, useValue: options },
        ServiceSigningKeys,
        ServiceTokenIssuer,
        UserAssertionIssuer,
        ServiceTokenInspector,
        ServiceTokenRevocationsRepository,
        ClientAuthenticator,
        OAuthClientRateLimit,
        TokenIssuanceMetrics,
      ],
      exports: [ServiceTokenIssuer],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(NoStoreMiddleware).forRoutes(
      ...['oauth2/token', 'oauth2/introspect', 'oauth2/revoke'].map((path) => ({
        path,
        method: RequestMethod.ALL,
      })),
    );
  }
}
