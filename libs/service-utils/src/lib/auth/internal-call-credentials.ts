import { ConfigError } from '../config/config.error';
import type { InternalAuthConfig } from '../config/internal-auth.config';
import { clientCredentialsGrant } from '../tokens/client-credentials';
import { clientSecretVariable } from '../tokens/client-secret';
import {
  ServiceTokenCache,
  type ServiceTokenCacheOptions,
  type ServiceTokenFetcher,
  type ServiceTokenSource,
} from '../tokens/service-token-cache';
import { internalHeaders } from './internal-headers';

/**
 * Whether this service's calls carry its service token, by its own `INTERNAL_AUTH_MODE`:
 * - `off` in `token` mode: the shared token alone, as before service identity;
 * - `best-effort` with `INTERNAL_AUTH_SHADOW=jwt`: the callees rehearse `jwt` mode, so they
 *   need the token to rehearse with, but a call is never failed for the want of one;
 * - `required` in `token+jwt` and `jwt`: a call without its token is not sent.
 */
export type ServiceTokenSending = 'off' | 'best-effort' | 'required';

/** How this service's calls carry its service token (see {@link ServiceTokenSending}). */
export function serviceTokenSending(config: InternalAuthConfig): ServiceTokenSending {
  if ((config.mode ?? 'token') !== 'token') return 'required';
  return config.shadow === 'jwt' ? 'best-effort' : 'off';
}

/** The credential headers of one call, and the service token among them (to invalidate). */
export interface CallCredential {
  readonly headers: Readonly<Record<string, string>>;
  /** Secret: the service token sent, when one is. */
  readonly serviceToken?: string;
}

export interface InternalCallCredentialsOptions extends ServiceTokenCacheOptions {
  /**
   * Where this service's tokens come from. Default: the token endpoint, with the client
   * credentials of the configuration (`<CLIENT>_CLIENT_SECRET`). The issuer itself passes
   * its in-process minting instead.
   */
  readonly fetcher?: ServiceTokenFetcher;
  /** The deadline of one token request (`INTERNAL_HTTP_TIMEOUT_MS`). */
  readonly timeoutMs: number;
}

/**
 * The credential an outgoing internal call carries: the shared token when this service has
 * one (`X-INTERNAL-TOKEN`), and, when its mode says so ({@link serviceTokenSending}), the
 * service token for the callee (`Authorization: Bearer`), from a {@link ServiceTokenCache}.
 * Nothing here logs or reports a token or a secret.
 */
export class InternalCallCredentials {
  private readonly sending: ServiceTokenSending;
  private readonly tokens: ServiceTokenCache | undefined;

  /**
   * @throws ConfigError naming `<CLIENT>_CLIENT_SECRET` when the mode needs service tokens and
   *   there is no way to get them.
   */
  constructor(
    private readonly config: InternalAuthConfig,
    options: InternalCallCredentialsOptions,
  ) {
    this.sending = serviceTokenSending(config);
    if (this.sending === 'off') return;
    const fetcher =
      options.fetcher ??
      (config.serviceClient &&
        clientCredentialsGrant(config.serviceClient, { timeoutMs: options.timeoutMs }));
    if (!fetcher) {
      const name = config.serviceTokens?.audience ?? 'the service';
      const setting =
        config.shadow === 'jwt' ? 'INTERNAL_AUTH_SHADOW=jwt' : `INTERNAL_AUTH_MODE=${config.mode}`;
      throw new ConfigError(
        clientSecretVariable(name),
        `is required with ${setting} for ${name} to call other services`,
      );
    }
    this.tokens = new ServiceTokenCache(fetcher, options);
  }

  /** True when calls carry a service token, so each callee must be named (its audience). */
  get sendsServiceTokens(): boolean {
    return this.sending !== 'off';
  }

  /**
   * The credential of a call to `audience` (the callee's service name).
   * @throws ServiceTokenUnavailableError when the mode requires a service token and none can
   *   be had: the call must not be sent.
   */
  async forCall(audience: string | undefined): Promise<CallCredential> {
    const shared = internalHeaders(this.config);
    if (!this.tokens) return { headers: shared };
    if (audience === undefined) {
      throw new TypeError(
        'InternalCallCredentials: a call that carries a service token needs its audience',
      );
    }
    // Shadow mode: the callee only rehearses, so a call never waits for the issuer; without a
    // token at hand it goes without one (one is being fetched; the cache logs a failure).
    const serviceToken =
      this.sending === 'best-effort'
        ? this.tokens.tokenIfReady(audience)
        : await this.tokens.token(audience);
    if (serviceToken === undefined) return { headers: shared };
    return { headers: { ...shared, Authorization: `Bearer ${serviceToken}` }, serviceToken };
  }

  /**
   * Reads a callee's answer to a call made with `sent`: true when it refused the service token
   * as invalid (`401` with `WWW-Authenticate: Bearer error="invalid_token"`, which only the
   * guard sends, before any handler runs) and a new token may fare better: the token is then
   * forgotten and the call may be sent once more. A key rotation the callee has not seen can
   * cause it; a token refused within seconds of being fetched is kept and the refusal stands
   * (see `ServiceTokenCache.invalidate`), and so does a second refusal.
   */
  refusedToken(
    audience: string | undefined,
    sent: CallCredential,
    answer: { readonly status: number; readonly headers: Readonly<Record<string, string>> },
  ): boolean {
    if (answer.status !== 401 || sent.serviceToken === undefined || audience === undefined) {
      return false;
    }
    const challenge = answer.headers['www-authenticate'] ?? '';
    if (!/^Bearer\b/i.test(challenge) || !/error="invalid_token"/.test(challenge)) return false;
    return this.tokens?.invalidate(audience, sent.serviceToken) ?? false;
  }

  /** How many service tokens were handed out from each source (for metrics). */
  tokenCounts(): Readonly<Record<ServiceTokenSource, number>> | undefined {
    return this.tokens?.counts();
  }
}
