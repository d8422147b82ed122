import { type DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { USER_TOKEN_VERIFIER_OPTIONS } from './user-auth.constants';
import { UserTokenGuard } from './user-token.guard';
import { UserTokenVerifier, type UserTokenVerifierOptions } from './user-token.verifier';

/**
 * Guards every route of the backend with {@link UserTokenGuard} (`APP_GUARD`), so a new
 * route needs a user access token unless it says `@Public()`. Import it once, in the root module.
 */
@Module({})
export class UserAuthModule {
  static forRoot(options: UserTokenVerifierOptions): DynamicModule {
    return {
      module: UserAuthModule,
      providers: [
        { provide: USER_TOKEN_VERIFIER_OPTIONS, useValue: options },
        UserTokenVerifier,
        { provide: APP_GUARD, useClass: UserTokenGuard },
      ],
    };
  }
}
