import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  isServiceAudience,
  oauthApi,
  type ServiceAudience,
  type ServiceScope,
} from '@zt/contracts';
import { type ServiceTokenFetcher, ServiceTokenUnavailableError } from '@zt/service-utils';
import { SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import type { ServiceClientPolicy } from '@zt/contracts';
import { clientPolicy, decideGrant } from './clients.policy';
import { OAUTH_OPTIONS, OWN_CLIENT_ID } from './oauth.constants';
import type { OAuthModuleOptions } from './oauth.module-options';
import { SERVICE_TOKEN_ALGORITHM, ServiceSigningKeys } from './service-signing-keys.service';

/** A service token, as the token endpoint hands it out. */
export interface IssuedServiceToken {
  /** The compact JWT. Secret: never logged. */
  readonly accessToken: string;
  /** Seconds until it expires. */
  readonly expiresIn: number;
  /** Its scopes, space-separated. */
  readonly scope: string;
  readonly audience: ServiceAudience;
  readonly jti: string;
}

/** What a request for a token comes to: a token, or the policy's refusal. */
export type IssueOutcome =
  | { readonly kind: 'issued'; readonly token: IssuedServiceToken }
  | { readonly kind: 'unauthorized_client' | 'invalid_target' | 'invalid_scope' };

/**
 * Mints service tokens (RFC 9068): header `typ: at+jwt`, EdDSA with the service key's `kid`;
 * claims `iss` (the auth server), `sub` = `client_id` = the caller, `aud` = the callee's
 * service name, `scope`, `iat`, `exp`, `jti`. It applies the client policy and nothing else:
 * the client's authentication is the caller's to do ({@link ClientAuthenticator}).
 */
@Injectable()
export class ServiceTokenIssuer {
  private readonly logger = new Logger(ServiceTokenIssuer.name);

  constructor(
    private readonly keys: ServiceSigningKeys,
    @Inject(OAUTH_OPTIONS) private readonly options: OAuthModuleOptions,
  ) {}

  /**
   * A token for an authenticated `client` at `audience`, with the `requested` scopes or, when
   * none are requested, every scope the policy gives it there.
   */
  async issue(
    client: ServiceClientPolicy,
    audience: ServiceAudience,
    requested: readonly string[] | undefined,
  ): Promise<IssueOutcome> {
    const decision = decideGrant(client, audience, requested);
    if (decision.kind !== 'granted') return decision;
    return { kind: 'issued', token: await this.sign(client.clientId, audience, decision.scopes) };
  }

  /**
   * A token of the auth server itself for `audience`, minted in-process (no HTTP call to
   * itself, no secret): what its own internal client will send.
   * @throws Error when the policy does not give the auth server that audience or those
   *   scopes (a bug of the caller, not a runtime condition).
   */
  async issueOwn(
    audience: ServiceAudience,
    scopes?: readonly ServiceScope[],
  ): Promise<IssuedServiceToken> {
    const own = clientPolicy(this.options.clients, OWN_CLIENT_ID);
    if (!own) throw new Error(`the client policy has no ${OWN_CLIENT_ID} client`);
    const outcome = await this.issue(own, audience, scopes);
    if (outcome.kind !== 'issued') {
      throw new Error(`the client policy refuses ${OWN_CLIENT_ID} at ${audience}: ${outcome.kind}`);
    }
    return outcome.token;
  }

  /**
   * {@link issueOwn} as the trust kit's `ServiceTokenFetcher`: where the auth server's own
   * internal client gets the tokens of its calls.
   */
  readonly ownTokens: ServiceTokenFetcher = async (audience) => {
    const own = clientPolicy(this.options.clients, OWN_CLIENT_ID);
    if (!own || !isServiceAudience(audience)) {
      throw new ServiceTokenUnavailableError(audience, 'refused', 'invalid_target');
    }
    const outcome = await this.issue(own, audience, undefined);
    if (outcome.kind !== 'issued') {
      throw new ServiceTokenUnavailableError(audience, 'refused', outcome.kind);
    }
    return { accessToken: outcome.token.accessToken, expiresInSeconds: outcome.token.expiresIn };
  };

  private async sign(
    clientId: string,
    audience: ServiceAudience,
    scopes: readonly ServiceScope[],
  ): Promise<IssuedServiceToken> {
    const { key, kid } = this.keys.signing();
    const issuedAt = Math.floor((this.options.now?.() ?? new Date()).getTime() / 1000);
    const jti = randomUUID();
    const scope = scopes.join(' ');
    const accessToken = await new SignJWT({ client_id: clientId, scope })
      .setProtectedHeader({ alg: SERVICE_TOKEN_ALGORITHM, kid, typ: oauthApi.SERVICE_TOKEN_TYPE })
      .setIssuer(this.options.issuer)
      .setSubject(clientId)
      .setAudience(audience)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + this.options.tokenTtlSeconds)
      .setJti(jti)
      .sign(key);
    this.logger.log({
      event: 'service_token_issued',
      client_id: clientId,
      aud: audience,
      scope,
      jti,
      kid,
    });
    return { accessToken, expiresIn: this.options.tokenTtlSeconds, scope, audience, jti };
  }
}
