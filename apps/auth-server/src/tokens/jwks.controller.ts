import { Controller, Get, Header } from '@nestjs/common';
import { Public } from '@zt/service-utils';
import { SigningKeyService } from './signing-key.service';

/** The public keys that verify access tokens (never a private part). */
@Controller('.well-known')
export class JwksController {
  constructor(private readonly keys: SigningKeyService) {}

  @Public()
  @Get('jwks.json')
  @Header('Cache-Control', 'public, max-age=300')
  jwks(): { keys: unknown[] } {
    return { keys: this.keys.publicKeys() };
  }
}
