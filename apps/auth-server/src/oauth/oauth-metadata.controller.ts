import { Controller, Get, Header, Inject } from '@nestjs/common';
import { allServiceScopes, oauthApi } from '@zt/contracts';
import { ApiEndpoint } from '@zt/service-chassis';
import { Public } from '@zt/service-utils';
import type { JWK } from 'jose';
import type { z } from 'zod';
import { OAUTH_OPTIONS } from './oauth.constants';
import type { OAuthModuleOptions } from './oauth.module-options';
import { ServiceSigningKeys } from './service-signing-keys.service';

/** Where the key set of service tokens is served (the metadata's `jwks_uri`). */
export const SERVICE_JWKS_PATH = oauthApi.serviceTokenJwks.path;

/**
 * What a client or a resource server needs to find the rest: the authorization server
 * metadata (RFC 8414) and the public keys of service tokens.
 */
@Controller()
export class OAuthMetadataController {
  constructor(
    private readonly keys: ServiceSigningKeys,
    @Inject(OAUTH_OPTIONS) private readonly options: OAuthModuleOptions,
  ) {}

  @Public()
  @Get('.well-known/oauth-authorization-server')
  @Header('Cache-Control', 'public, max-age=300')
  @ApiEndpoint(oauthApi.authorizationServerMetadata)
  metadata(): z.input<typeof oauthApi.authorizationServerMetadataBody> {
    const { issuer } = this.options;
    return {
      issuer,
      token_endpoint: `${issuer}${oauthApi.issueServiceToken.path}`,
      jwks_uri: `${issuer}${SERVICE_JWKS_PATH}`,
      introspection_endpoint: `${issuer}${oauthApi.introspectServiceToken.path}`,
      introspection_endpoint_auth_methods_supported: [...oauthApi.TOKEN_ENDPOINT_AUTH_METHODS],
      revocation_endpoint: `${issuer}${oauthApi.revokeServiceToken.path}`,
      revocation_endpoint_auth_methods_supported: [...oauthApi.TOKEN_ENDPOINT_AUTH_METHODS],
      grant_types_supported: [...oauthApi.GRANT_TYPES],
      token_endpoint_auth_methods_supported: [...oauthApi.TOKEN_ENDPOINT_AUTH_METHODS],
      scopes_supported: allServiceScopes(),
      // No authorization endpoint: no response type at all (RFC 8414 requires the member).
      response_types_supported: [],
    };
  }

  @Public()
  @Get('oauth2/jwks')
  @Header('Cache-Control', 'public, max-age=300')
  @ApiEndpoint(oauthApi.serviceTokenJwks)
  jwks(): { keys: JWK[] } {
    return { keys: this.keys.publicKeys() };
  }
}
