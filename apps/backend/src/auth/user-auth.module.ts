import { type DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthSessionsClient, type SessionsOptions } from './auth-sessions.client';
import { RevocationList } from './revocation-list';
import { SESSIONS_OPTIONS, USER_TOKEN_VERIFIER_OPTIONS } from './user-auth.constants';
import { UserTokenGuard } from './user-token.guard';
import { UserTokenVerifier, type UserTokenVerifierOptions } from './user-token.verifier';

/**
 * Guards every route of the backend with {@link UserTokenGuard} (`APP_GUARD`), so a new
 * route needs a user access token unless it says `@Public()`, and keeps the list of ended
 * sessions it refuses ({@link RevocationList}). Import it once, in the root module.
 */
@Module({})
export class UserAuthModule {
  static forRoot(options: UserTokenVerifierOptions, sessions: SessionsOptions): DynamicModule {
    return {
      module: UserAuthModule,
      global: true,
      providers: [
        { provide: USER_TOKEN_VERIFIER_OPTIONS, useValue: options },
        { provide: SESSIONS_OPTIONS, useValue: sessions },
        UserTokenVerifier,
        AuthSessionsClient,
        RevocationList,
        { provide: APP_GUARD, useClass: UserTokenGuard },
      ],
      exports: [AuthSessionsClient, RevocationList],
    };
  }
}
