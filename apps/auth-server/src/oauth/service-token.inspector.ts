import { Inject, Injectable } from '@nestjs/common';
import { oauthApi } from '@zt/contracts';
import { isCanonicalCompact, serviceTokenProfile, TokenRejectedError } from '@zt/service-utils';
import { errors, jwtVerify } from 'jose';
import { ClientAuthenticator } from './client-authenticator';
import { OAUTH_OPTIONS } from './oauth.constants';
import type { OAuthModuleOptions } from './oauth.module-options';
import { SERVICE_TOKEN_ALGORITHM, ServiceSigningKeys } from './service-signing-keys.service';
import { ServiceTokenRevocationsRepository } from './service-token-revocations.repository';

/** The claims of a service token this server signed, checked as every resource server checks them. */
export interface InspectedServiceToken {
  readonly sub: string;
  readonly client_id: string;
  readonly aud: string;
  readonly scope: string;
  readonly iss: string;
  readonly exp: number;
  readonly iat: number;
  readonly jti: string;
}

/** Why a token is not active for the asking client: for the log only, never for the client. */
export type InactiveReason = 'invalid' | 'not_its_audience' | 'client_revoked' | 'revoked';

/**
 * What the auth server knows about a service token that resource servers cannot see in it:
 * whether it was revoked, or its client was. Signatures are checked against the keys this
 * server publishes now, with the trust kit's canonical-encoding check and service-token
 * profile (`typ`, `iss`, lifetime, claims), so that introspection never calls active a token
 * the kit's verifier would refuse.
 */
@Injectable()
export class ServiceTokenInspector {
  constructor(
    private readonly keys: ServiceSigningKeys,
    private readonly revocations: ServiceTokenRevocationsRepository,
    private readonly clients: ClientAuthenticator,
    @Inject(OAUTH_OPTIONS) private readonly options: OAuthModuleOptions,
  ) {}

  /** The token's claims when this server signed it and it is unexpired; else `undefined`. */
  async verify(token: string): Promise<InspectedServiceToken | undefined> {
    // One token, one spelling, as the trust kit's verifier insists (jose's decoder would skip
    // characters outside base64url).
    if (!isCanonicalCompact(token)) return undefined;
    try {
      const { payload } = await jwtVerify(
        token,
        (header) => {
          const key = header.kid === undefined ? undefined : this.keys.verificationKey(header.kid);
          if (!key) throw new errors.JWKSNoMatchingKey();
          return key;
        },
        {
          issuer: this.options.issuer,
          algorithms: [SERVICE_TOKEN_ALGORITHM],
          typ: oauthApi.SERVICE_TOKEN_TYPE,
          requiredClaims: ['exp', 'iat', 'aud', 'sub', 'client_id', 'scope', 'jti'],
          maxTokenAge: oauthApi.MAX_SERVICE_TOKEN_LIFETIME_SECONDS,
          currentDate: this.now(),
        },
      );
      const { aud, exp, iat } = payload as { aud: unknown; exp: number; iat: number };
      if (typeof aud !== 'string' || exp - iat > oauthApi.MAX_SERVICE_TOKEN_LIFETIME_SECONDS) {
        return undefined;
      }
      // The profile's own checks of sub, client_id, scope and jti (it throws on a bad one).
      const profile = serviceTokenProfile({
        issuer: this.options.issuer,
        jwksUrl: new URL(`${this.options.issuer}${oauthApi.serviceTokenJwks.path}`),
        audience: aud,
        keySet: { timeoutMs: 0, cooldownMs: 0, cacheMaxAgeMs: 0 },
      });
      const caller = profile.readClaims(payload);
      return {
        sub: caller.name,
        client_id: caller.name,
        aud,
        scope: payload['scope'] as string,
        iss: this.options.issuer,
        exp,
        iat,
        jti: caller.tokenId,
      };
    } catch (error) {
      if (error instanceof errors.JOSEError || error instanceof TokenRejectedError) {
        return undefined;
      }
      throw error;
    }
  }

  /**
   * The token's claims when it is active now for `askingClientId`: {@link verify}, its audience
   * the asking client, its client not revoked, and itself not revoked; otherwise why not. The
   * audience is checked before anything else is looked up, so a client that may not ask about
   * a token learns nothing, not even from how long the answer took.
   */
  async inspect(
    token: string,
    askingClientId: string,
  ): Promise<
    | { readonly active: true; readonly claims: InspectedServiceToken }
    | { readonly active: false; readonly reason: InactiveReason }
  > {
    const claims = await this.verify(token);
    if (!claims) return { active: false, reason: 'invalid' };
    if (claims.aud !== askingClientId) return { active: false, reason: 'not_its_audience' };
    if (!this.clients.isClientActive(claims.client_id)) {
      return { active: false, reason: 'client_revoked' };
    }
    if (await this.revocations.isRevoked(claims.jti)) return { active: false, reason: 'revoked' };
    return { active: true, claims };
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }
}
