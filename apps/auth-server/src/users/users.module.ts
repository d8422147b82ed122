import { type DynamicModule, Module } from '@nestjs/common';
import { BillingClient } from '../billing/billing.client';
import { InvitesController } from '../invites/invites.controller';
import { RevocationPurge } from '../sessions/revocation-purge';
import { SessionsController } from '../sessions/sessions.controller';
import { StatsController } from '../stats/stats.controller';
import { JwksController } from '../tokens/jwks.controller';
import { SigningKeyService } from '../tokens/signing-key.service';
import { SIGNING_KEY_FILE, TOKEN_SETTINGS } from '../tokens/tokens.constants';
import { TokensService } from '../tokens/tokens.service';
import { FailedLoginThrottle } from './failed-login-throttle';
import { PasswordHasher } from './password-hasher';
import { UsersController } from './users.controller';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

/** Options of {@link UsersModule}. */
export interface UsersModuleOptions {
  readonly signingKeyFile: string;
  readonly issuer: string;
  readonly accessTokenTtlSeconds: number;
}

/** Users, invites, login and the tokens it issues. */
@Module({})
export class UsersModule {
  static forRoot(options: UsersModuleOptions): DynamicModule {
    return {
      module: UsersModule,
      controllers: [
        UsersController,
        InvitesController,
        JwksController,
        StatsController,
        SessionsController,
      ],
      providers: [
        UsersRepository,
        UsersService,
        PasswordHasher,
        RevocationPurge,
        { provide: FailedLoginThrottle, useValue: new FailedLoginThrottle() },
        BillingClient,
        SigningKeyService,
        TokensService,
        { provide: SIGNING_KEY_FILE, useValue: options.signingKeyFile },
        {
          provide: TOKEN_SETTINGS,
          useValue: { issuer: options.issuer, ttlSeconds: options.accessTokenTtlSeconds },
        },
      ],
    };
  }
}
