import { Inject, Injectable, Logger } from '@nestjs/common';
import { ClientSecretDigests } from './client-secret';
import type { ServiceClientPolicy } from '@zt/contracts';
import { clientPolicy } from './clients.policy';
import { OAUTH_OPTIONS } from './oauth.constants';
import type { OAuthModuleOptions } from './oauth.module-options';
import type { ClientCredentials } from './token-request';

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
