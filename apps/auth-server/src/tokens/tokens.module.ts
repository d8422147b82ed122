import { type DynamicModule, Module } from '@nestjs/common';
import { JwksController } from './jwks.controller';
import { SigningKeyService } from './signing-key.service';
import { SIGNING_KEY_FILE, TOKEN_SETTINGS } from './tokens.constants';
import { TokensService } from './tokens.service';

/** Options of {@link TokensModule}. */
export interface TokensModuleOptions {
  /** Where the signing key pair is kept (generated on first start). */
  readonly signingKeyFile: string;
  readonly issuer: string;
  readonly accessTokenTtlSeconds: number;
}

/**
 * The signing key, the user access tokens signed with it, and its public JWKS. Global: the
 * one key of the process, which login issues tokens with.
 */
@Module({})
export class TokensModule {
  static forRoot(options: TokensModuleOptions): DynamicModule {
    return {
      module: TokensModule,
      global: true,
      controllers: [JwksController],
      providers: [
        SigningKeyService,
        TokensService,
        { provide: SIGNING_KEY_FILE, useValue: options.signingKeyFile },
        {
          provide: TOKEN_SETTINGS,
          useValue: { issuer: options.issuer, ttlSeconds: options.accessTokenTtlSeconds },
        },
      ],
      exports: [TokensService],
    };
  }
}
