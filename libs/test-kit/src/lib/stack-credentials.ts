import { SERVICE_CLIENTS, type ServiceAudience } from '@zt/contracts';
import {
  clientCredentialsGrant,
  type InternalAuthMode,
  INTERNAL_TOKEN_HEADER,
  ServiceTokenCache,
} from '@zt/service-utils';
import { stackAuthMode } from './config/test-environment';
import { type ClientSecrets, generateClientSecrets, generateToken } from './secrets';

/**
 * The internal credentials of a test stack in one `INTERNAL_AUTH_MODE`, and what a test sends
 * when it calls an internal route as one of the service clients (an operator's tool, the
 * metrics scraper, or a service it stands in for): the shared token in `token` and
 * `token+jwt` mode, and that client's service token for the callee in `token+jwt` and `jwt`
 * mode. Every secret is generated here; none is ever printed.
 */
export class StackCredentials {
  /** `INTERNAL_SERVICE_TOKEN`: not given to the services in `jwt` mode, which needs none. */
  readonly internalToken = generateToken();
  /** Every client's secret (`SERVICE_CLIENTS`), as `npm start` writes them to .env. */
  readonly clients: ClientSecrets = generateClientSecrets(
    SERVICE_CLIENTS.map((client) => client.clientId),
  );
  private readonly tokens = new Map<string, ServiceTokenCache>();

  constructor(readonly mode: InternalAuthMode = stackAuthMode()) {}

  /** What every service of the stack gets: the mode, the shared token, the client secrets. */
  environment(): Record<string, string> {
    return {
      INTERNAL_AUTH_MODE: this.mode,
      ...(this.mode === 'jwt' ? {} : { INTERNAL_SERVICE_TOKEN: this.internalToken }),
      ...this.clients.env,
    };
  }

  /**
   * The headers of a call to `audience` as `clientId`, whose token comes from the auth server
   * at `authUrl` (cached until shortly before it expires).
   */
  async headers(
    authUrl: string,
    clientId: string,
    audience: ServiceAudience,
  ): Promise<Record<string, string>> {
    const shared: Record<string, string> =
      this.mode === 'jwt' ? {} : { [INTERNAL_TOKEN_HEADER]: this.internalToken };
    if (this.mode === 'token') return shared;
    return {
      ...shared,
      Authorization: `Bearer ${await this.tokensOf(authUrl, clientId).token(audience)}`,
    };
  }

  /** Every secret of the stack, for tests that no log shows one. */
  secrets(): string[] {
    return [this.internalToken, ...Object.values(this.clients.secrets)];
  }

  private tokensOf(authUrl: string, clientId: string): ServiceTokenCache {
    const key = `${authUrl} ${clientId}`;
    let cache = this.tokens.get(key);
    if (!cache) {
      const clientSecret = this.clients.secrets[clientId];
      if (clientSecret === undefined) throw new Error(`no client ${clientId} in SERVICE_CLIENTS`);
      const tokenEndpoint = new URL('/oauth2/token', authUrl);
      cache = new ServiceTokenCache(
        clientCredentialsGrant({ tokenEndpoint, clientId, clientSecret }, { timeoutMs: 5_000 }),
      );
      this.tokens.set(key, cache);
    }
    return cache;
  }
}
