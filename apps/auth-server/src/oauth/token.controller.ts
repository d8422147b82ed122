import { Controller, HttpCode, HttpStatus, Inject, Post, Req, UseFilters } from '@nestjs/common';
import { oauthApi, type ServiceClientPolicy } from '@zt/contracts';
import { ApiEndpoint } from '@zt/service-chassis';
import { Public } from '@zt/service-utils';
import type { FrameworkRequest } from '@zt/service-utils';
import { ClientAuthenticator } from './client-authenticator';
import { OAuthClientRateLimit } from './oauth-client-rate-limit';
import { OAUTH_OPTIONS } from './oauth.constants';
import { OAuthErrorFilter } from './oauth-error.filter';
import { OAuthError } from './oauth.error';
import type { OAuthModuleOptions } from './oauth.module-options';
import { ServiceTokenIssuer } from './service-token.issuer';
import { type FormParameters, readAudience, readForm, readScopes } from './token-request';
import { TokenIssuanceMetrics, UNAUTHENTICATED_CLIENT } from './token-issuance.metrics';
import { UserAssertionIssuer } from './user-assertion.issuer';

/** The token answer (RFC 6749 section 5.1; RFC 8693 section 2.2.1 for an exchange). */
type TokenAnswer =
  | {
      readonly access_token: string;
      readonly token_type: 'Bearer';
      readonly expires_in: number;
      readonly scope: string;
    }
  | {
      readonly access_token: string;
      readonly issued_token_type: typeof oauthApi.JWT_TOKEN_TYPE_URN;
      readonly token_type: 'N_A';
      readonly expires_in: number;
      readonly scope: string;
    };

/**
 * `POST /oauth2/token`: service tokens by the client credentials grant (RFC 6749 section
 * 4.4), and user assertions by token exchange (RFC 8693) of a user's access token. Public (a client proves itself with its secret, not the internal credential); it reads
 * its form itself.
 */
@Controller('oauth2')
@UseFilters(OAuthErrorFilter)
export class TokenController {
  constructor(
    private readonly authenticator: ClientAuthenticator,
    private readonly clientLimit: OAuthClientRateLimit,
    private readonly issuer: ServiceTokenIssuer,
    private readonly assertions: UserAssertionIssuer,
    @Inject(OAUTH_OPTIONS) private readonly options: OAuthModuleOptions,
    private readonly metrics: TokenIssuanceMetrics,
  ) {}

  @Public()
  @Post('token')
  @HttpCode(HttpStatus.OK)
  @ApiEndpoint(oauthApi.issueServiceToken)
  async token(@Req() request: FrameworkRequest): Promise<TokenAnswer> {
    let clientId = UNAUTHENTICATED_CLIENT;
    try {
      const form = await readForm(request);
      // The client first: nothing about the request is told to whoever cannot authenticate.
      const client = this.authenticator.authenticateRequest(request, form);
      clientId = client.clientId;
      const answer = await this.answer(client, form);
      this.metrics.record(clientId, 'issued');
      return answer;
    } catch (error) {
      if (error instanceof OAuthError) this.metrics.record(clientId, error.error);
      throw error;
    }
  }

  private async answer(client: ServiceClientPolicy, form: FormParameters): Promise<TokenAnswer> {
    const grantType = form.get('grant_type');
    if (grantType === undefined) throw new OAuthError('invalid_request', 'grant_type is required');
    if (grantType === oauthApi.TOKEN_EXCHANGE_GRANT) return this.exchange(client, form);
    if (grantType !== oauthApi.CLIENT_CREDENTIALS_GRANT) {
      throw new OAuthError(
        'unsupported_grant_type',
        'only client_credentials and token exchange are supported',
      );
    }
    // Service tokens spend the client's allowance; exchanges do not: their number follows the
    // users signing in, not the client (docs/rate-limits.md).
    await this.clientLimit.admit(client.clientId);
    if (Object.keys(client.audiences).length === 0) {
      throw new OAuthError('unauthorized_client', 'this client may not get service tokens');
    }
    const audience = readAudience(form, this.options.serviceUrls);
    const outcome = await this.issuer.issue(client, audience, readScopes(form));
    switch (outcome.kind) {
      case 'issued':
        return {
          access_token: outcome.token.accessToken,
          token_type: 'Bearer',
          expires_in: outcome.token.expiresIn,
          scope: outcome.token.scope,
        };
      case 'unauthorized_client':
        throw new OAuthError('unauthorized_client', 'this client may not get service tokens');
      case 'invalid_target':
        throw new OAuthError('invalid_target', 'this client may not call that audience');
      case 'invalid_scope':
        throw new OAuthError('invalid_scope', 'a scope outside what this client may have there');
    }
  }

  /** RFC 8693: a user assertion for `audience`, in exchange for the user's access token. */
  private async exchange(client: ServiceClientPolicy, form: FormParameters): Promise<TokenAnswer> {
    const subjectToken = form.get('subject_token');
    if (subjectToken === undefined) {
      throw new OAuthError('invalid_request', 'subject_token is required');
    }
    if (form.get('subject_token_type') !== oauthApi.ACCESS_TOKEN_TYPE_URN) {
      throw new OAuthError(
        'invalid_request',
        `subject_token_type must be ${oauthApi.ACCESS_TOKEN_TYPE_URN}`,
      );
    }
    const requestedType = form.get('requested_token_type');
    if (requestedType !== undefined && requestedType !== oauthApi.JWT_TOKEN_TYPE_URN) {
      throw new OAuthError(
        'invalid_request',
        `requested_token_type, when given, must be ${oauthApi.JWT_TOKEN_TYPE_URN}`,
      );
    }
    if (form.has('actor_token') || form.has('actor_token_type')) {
      throw new OAuthError(
        'invalid_request',
        'actor_token is not supported: the client is the actor',
      );
    }
    const audience = readAudience(form, this.options.serviceUrls);
    const outcome = await this.assertions.exchange(
      client,
      subjectToken,
      audience,
      readScopes(form),
    );
    switch (outcome.kind) {
      case 'issued':
        return {
          access_token: outcome.assertion.accessToken,
          issued_token_type: oauthApi.JWT_TOKEN_TYPE_URN,
          token_type: 'N_A',
          expires_in: outcome.assertion.expiresIn,
          scope: outcome.assertion.scope,
        };
      case 'invalid_grant':
        throw new OAuthError('invalid_grant', outcome.description);
      case 'unauthorized_client':
        throw new OAuthError('unauthorized_client', 'this client may not get tokens');
      case 'invalid_target':
        throw new OAuthError('invalid_target', 'this client may not call that audience');
      case 'invalid_scope':
        throw new OAuthError('invalid_scope', 'a scope outside what this client may have there');
    }
  }
}
