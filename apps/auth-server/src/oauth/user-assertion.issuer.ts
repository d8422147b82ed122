import { Inject, Injectable, Logger } from '@nestjs/common';
import { oauthApi, type ServiceAudience, type ServiceClientPolicy } from '@zt/contracts';
import { SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import { TokensService } from '../tokens/tokens.service';
import { UsersRepository } from '../users/users.repository';
import { decideGrant } from './clients.policy';
import { OAUTH_OPTIONS } from './oauth.constants';
import type { OAuthModuleOptions } from './oauth.module-options';
import { SERVICE_TOKEN_ALGORITHM, ServiceSigningKeys } from './service-signing-keys.service';

/** A user assertion, as the token endpoint hands it out. */
export interface IssuedUserAssertion {
  /** The compact JWT. Secret: never logged. */
  readonly accessToken: string;
  readonly expiresIn: number;
  readonly scope: string;
}

/** What a token exchange comes to: an assertion, or why not (RFC 6749 / RFC 8693 codes). */
export type ExchangeOutcome =
  | { readonly kind: 'issued'; readonly assertion: IssuedUserAssertion }
  | { readonly kind: 'invalid_grant'; readonly description: string }
  | { readonly kind: 'unauthorized_client' | 'invalid_target' | 'invalid_scope' };

// Not worth issuing: the callee could not verify it before it expires.
const MIN_LIFETIME_SECONDS = 5;

/**
 * Token exchange (RFC 8693) of a user's access token for a user assertion: a JWT with `typ`
 * `user-assertion+jwt`, signed with the service-token key, `sub` the user, `act.sub` =
 * `client_id` the exchanging client, `aud` the callee, `scope` within the client's policy
 * there, living no longer than the service-token lifetime nor the user token itself.
 *
 * The subject token is checked fully: signed by this server as a user token (not a service
 * token, nor an assertion), unexpired, issued to the very client that exchanges it, and its
 * session not ended (logout, password change): a client that holds no live token of the user
 * gets nothing.
 */
@Injectable()
export class UserAssertionIssuer {
  private readonly logger = new Logger(UserAssertionIssuer.name);

  constructor(
    private readonly keys: ServiceSigningKeys,
    private readonly userTokens: TokensService,
    private readonly users: UsersRepository,
    @Inject(OAUTH_OPTIONS) private readonly options: OAuthModuleOptions,
  ) {}

  async exchange(
    client: ServiceClientPolicy,
    subjectToken: string,
    audience: ServiceAudience,
    requested: readonly string[] | undefined,
  ): Promise<ExchangeOutcome> {
    const now = this.options.now?.() ?? new Date();
    const subject = await this.userTokens.verify(subjectToken, now);
    if (!subject) {
      return {
        kind: 'invalid_grant',
        description: 'subject_token is not a valid user access token',
      };
    }
    if (subject.audience !== client.clientId) {
      this.logger.warn({
        event: 'token_exchange_refused',
        reason: 'subject_token_not_for_client',
        client_id: client.clientId,
      });
      return { kind: 'invalid_grant', description: 'subject_token was not issued to this client' };
    }
    const decision = decideGrant(client, audience, requested);
    if (decision.kind !== 'granted') return decision;
    if (!(await this.users.isSessionActive(subject.userId, subject.tokenId, subject.issuedAt))) {
      this.logger.warn({
        event: 'token_exchange_refused',
        reason: 'session_ended',
        client_id: client.clientId,
        user_id: subject.userId,
      });
      return { kind: 'invalid_grant', description: "subject_token's session has ended" };
    }
    const issuedAt = Math.floor(now.getTime() / 1000);
    const expiresAt = Math.min(issuedAt + this.options.tokenTtlSeconds, subject.expiresAt);
    if (expiresAt - issuedAt < MIN_LIFETIME_SECONDS) {
      return { kind: 'invalid_grant', description: 'subject_token expires too soon' };
    }
    const { key, kid } = this.keys.signing();
    const scope = decision.scopes.join(' ');
    const jti = randomUUID();
    const accessToken = await new SignJWT({
      client_id: client.clientId,
      act: { sub: client.clientId },
      scope,
    })
      .setProtectedHeader({ alg: SERVICE_TOKEN_ALGORITHM, kid, typ: oauthApi.USER_ASSERTION_TYPE })
      .setIssuer(this.options.issuer)
      .setSubject(subject.userId)
      .setAudience(audience)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAt)
      .setJti(jti)
      .sign(key);
    this.logger.log({
      event: 'user_assertion_issued',
      client_id: client.clientId,
      user_id: subject.userId,
      aud: audience,
      scope,
      jti,
      kid,
    });
    return { kind: 'issued', assertion: { accessToken, expiresIn: expiresAt - issuedAt, scope } };
  }
}
