import {
  Controller,
  HttpCode,
  HttpStatus,
  Inject,
  Logger,
  Post,
  Req,
  UseFilters,
} from '@nestjs/common';
import { oauthApi } from '@zt/contracts';
import { ApiEndpoint } from '@zt/service-chassis';
import { Public } from '@zt/service-utils';
import type { FrameworkRequest } from '@zt/service-utils';
import type { z } from 'zod';
import { ClientAuthenticator } from './client-authenticator';
import { OAuthClientRateLimit } from './oauth-client-rate-limit';
import { OAUTH_OPTIONS } from './oauth.constants';
import type { OAuthModuleOptions } from './oauth.module-options';
import { OAuthErrorFilter } from './oauth-error.filter';
import { OAuthError } from './oauth.error';
import { ServiceTokenInspector } from './service-token.inspector';
import { ServiceTokenRevocationsRepository } from './service-token-revocations.repository';
import { readForm, readToken } from './token-request';

type IntrospectionAnswer = z.input<(typeof oauthApi.introspectServiceToken.answers)[0]['body']>;

// RFC 7662 section 2.2: an inactive token gets this and nothing else, whatever the reason.
const INACTIVE = Object.freeze({ active: false as const });

/**
 * What happened to a service token since it was issued: introspection (RFC 7662) for resource
 * servers and revocation (RFC 7009) for the client that holds it. Both are public (a client
 * proves itself with its secret) and read their forms themselves, like the token endpoint.
 */
@Controller('oauth2')
@UseFilters(OAuthErrorFilter)
export class TokenStatusController {
  private readonly logger = new Logger(TokenStatusController.name);

  constructor(
    private readonly authenticator: ClientAuthenticator,
    private readonly clientLimit: OAuthClientRateLimit,
    private readonly inspector: ServiceTokenInspector,
    private readonly revocations: ServiceTokenRevocationsRepository,
    @Inject(OAUTH_OPTIONS) private readonly options: OAuthModuleOptions,
  ) {}

  /**
   * A resource server asks about a token presented to it: active, with its claims, only when
   * the token is active and the asking client is its audience (DESIGN section 9).
   */
  @Public()
  @Post('introspect')
  @HttpCode(HttpStatus.OK)
  @ApiEndpoint(oauthApi.introspectServiceToken)
  async introspect(@Req() request: FrameworkRequest): Promise<IntrospectionAnswer> {
    const form = await readForm(request);
    const client = this.authenticator.authenticateRequest(request, form);
    // Not counted against the client's allowance: a resource server introspects on behalf of
    // its callers, each limited there; counting here would let one caller, by presenting
    // tokens that need asking about, use up billing's allowance and stop every caller's money
    // routes (docs/rate-limits.md).
    const token = readToken(form);
    const outcome = await this.inspector.inspect(token, client.clientId);
    this.logger.log({
      event: 'service_token_introspected',
      client_id: client.clientId,
      active: outcome.active,
      ...(outcome.active
        ? { jti: outcome.claims.jti, token_client_id: outcome.claims.client_id }
        : { reason: outcome.reason }),
    });
    if (!outcome.active) return INACTIVE;
    return { active: true, ...outcome.claims, token_type: 'Bearer' };
  }

  /**
   * The client a token was issued to revokes it. An invalid, expired or unknown token answers
   * 200 (RFC 7009 section 2.2: nothing left to revoke); a valid token of another client is
   * refused (`unauthorized_client`) and stays active.
   */
  @Public()
  @Post('revoke')
  @HttpCode(HttpStatus.OK)
  @ApiEndpoint(oauthApi.revokeServiceToken)
  async revoke(@Req() request: FrameworkRequest): Promise<Record<string, never>> {
    const form = await readForm(request);
    const client = this.authenticator.authenticateRequest(request, form);
    await this.clientLimit.admit(client.clientId);
    const claims = await this.inspector.verify(readToken(form));
    if (!claims) return {};
    if (claims.client_id !== client.clientId) {
      throw new OAuthError('unauthorized_client', 'this token was issued to another client');
    }
    await this.revocations.revoke(
      claims.jti,
      claims.client_id,
      new Date(claims.exp * 1000),
      this.options.now?.() ?? new Date(),
    );
    this.logger.log({
      event: 'service_token_revoked',
      client_id: client.clientId,
      jti: claims.jti,
    });
    return {};
  }
}
