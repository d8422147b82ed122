import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ServiceClientPolicy } from '@zt/contracts';
import { type FrameworkRequest, readSingleHeader } from '@zt/service-utils';
import { ClientSecretDigests } from './client-secret';
import { clientPolicy } from './clients.policy';
import { OAUTH_OPTIONS, OWN_CLIENT_ID } from './oauth.constants';
import type { OAuthModuleOptions } from './oauth.module-options';
import { OAuthError } from './oauth.error';
import {
  type ClientCredentials,
  type FormParameters,
  readClientCredentials,
} from './token-request';

// Compared against for a client nobody configured, so that an unknown id costs what a known one does.
const NOBODY = new ClientSecretDigests([]);

/**
 * Checks a client's id and secret against the policy and the secrets' digests. An unknown
 * client, a client without a configured secret and a wrong secret are one answer (`undefined`);
 * which it was goes to the log only.
 */
@Injectable()
export class ClientAuthenticator {
  private readonly logger = new Logger(ClientAuthenticator.name);

  constructor(@Inject(OAUTH_OPTIONS) private readonly options: OAuthModuleOptions) {}

  /**
   * The client a request to the token, introspection or revocation endpoint authenticates as
   * (`client_secret_basic` or `client_secret_post`, exactly one).
   * @throws OAuthError `invalid_client` when it proves none; `invalid_request` for a malformed
   *   or doubled authentication.
   */
  authenticateRequest(request: FrameworkRequest, form: FormParameters): ServiceClientPolicy {
    const credentials = readClientCredentials(readSingleHeader(request, 'authorization'), form);
    const client = this.authenticate(credentials);
    if (!client) throw new OAuthError('invalid_client', 'client authentication failed');
    return client;
  }

  /**
   * True while a client may hold tokens: it is in the policy and has a secret configured, or it
   * is the auth server itself (which mints its own). A client whose secrets were all removed
   * (`npm run client -- revoke`) is revoked: introspection answers inactive for its tokens.
   */
  isClientActive(clientId: string): boolean {
    const policy = clientPolicy(this.options.clients, clientId);
    if (!policy) return false;
    return (
      clientId === OWN_CLIENT_ID ||
      (this.options.clientSecrets.get(policy.clientId)?.count ?? 0) > 0
    );
  }

  /** The policy of the client the credentials prove, or `undefined` when they prove none. */
  authenticate(credentials: ClientCredentials): ServiceClientPolicy | undefined {
    const policy = clientPolicy(this.options.clients, credentials.clientId);
    const digests = (policy && this.options.clientSecrets.get(policy.clientId)) ?? NOBODY;
    if (digests.matches(credentials.secret) && policy) return policy;
    this.logger.warn({
      event: 'oauth_client_auth_failed',
      reason: !policy
        ? 'unknown_client'
        : digests.count === 0
          ? 'no_secret_configured'
          : 'wrong_secret',
      // Only a configured id is logged: an unknown one is whatever the caller typed.
      client_id: policy?.clientId ?? null,
      method: credentials.method,
    });
    return undefined;
  }
}
