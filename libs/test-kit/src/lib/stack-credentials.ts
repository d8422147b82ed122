import { SERVICE_CLIENTS, type ServiceAudience } from '@zt/contracts';
import {
  InternalCallCredentials,
  type InternalAuthMode,
  loadInternalAuthConfig,
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
  /** `METRICS_TOKEN`, the read-only scrape credential (taken in `token` and `token+jwt` mode). */
  readonly metricsToken = generateToken();
  /** Every client's secret (`SERVICE_CLIENTS`), as `npm start` writes them to .env. */
  readonly clients: ClientSecrets = generateClientSecrets(
    SERVICE_CLIENTS.map((client) => client.clientId),
  );
  private readonly callers = new Map<string, InternalCallCredentials>();

  constructor(readonly mode: InternalAuthMode = stackAuthMode()) {}

  /**
   * What every service of the stack gets: the mode, the shared token, the metrics token, the
   * client secrets.
   */
  environment(): Record<string, string> {
    return {
      INTERNAL_AUTH_MODE: this.mode,
      ...(this.mode === 'jwt' ? {} : { INTERNAL_SERVICE_TOKEN: this.internalToken }),
      METRICS_TOKEN: this.metricsToken,
      ...this.clients.env,
    };
  }

  /**
   * The headers of a call to `audience` as `clientId`, as the kit gives them to a service in
   * this mode, with tokens from the auth server at `authUrl` (cached until shortly before they
   * expire).
   */
  async headers(
    authUrl: string,
    clientId: string,
    audience: ServiceAudience,
  ): Promise<Record<string, string>> {
    return { ...(await this.callerOf(authUrl, clientId).forCall(audience)).headers };
  }

  /**
   * The headers of a scrape of `GET /metrics` at `audience`, as a stock Prometheus sends them:
   * `Authorization: Bearer` alone, with the metrics token in `token` mode and the
   * `metrics-scraper` client's service token in `token+jwt` and `jwt` mode (never the shared token).
   */
  async scrapeHeaders(authUrl: string, audience: ServiceAudience): Promise<Record<string, string>> {
    if (this.mode === 'token') return { Authorization: `Bearer ${this.metricsToken}` };
    const { Authorization } = await this.headers(authUrl, 'metrics-scraper', audience);
    if (Authorization === undefined) throw new Error('the metrics-scraper got no service token');
    return { Authorization };
  }

  /** Every secret of the stack, for tests that no log shows one. */
  secrets(): string[] {
    return [this.internalToken, this.metricsToken, ...Object.values(this.clients.secrets)];
  }

  private callerOf(authUrl: string, clientId: string): InternalCallCredentials {
    const key = `${authUrl} ${clientId}`;
    let caller = this.callers.get(key);
    if (!caller) {
      const config = loadInternalAuthConfig(
        { ...this.environment(), AUTH_SERVER_URL: authUrl },
        { serviceName: clientId, ownTokens: 'token-endpoint' },
      );
      caller = new InternalCallCredentials(config, { timeoutMs: 5_000 });
      this.callers.set(key, caller);
    }
    return caller;
  }
}
