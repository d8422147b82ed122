// The internal credential of an operator's command, in the stack's INTERNAL_AUTH_MODE, as the
// kit gives it to any caller: the shared token in `token` and `token+jwt` mode, and a service
// token of the command's client in `token+jwt` and `jwt` mode (`npm run invite` is the
// `operator` client, OPERATOR_CLIENT_SECRET or its _NEXT during a rotation; npm start
// generates every client's secret). Runs under `tsx --tsconfig tsconfig.base.json`, which maps
// `@zt/*` to source.
import type { ServiceAudience } from '@zt/contracts';
import { InternalCallCredentials, loadInternalAuthConfig } from '@zt/service-utils';

/** The headers of one internal call to `audience` as the service client `clientId`. */
export type CallHeaders = (
  clientId: string,
  audience: ServiceAudience,
) => Promise<Record<string, string>>;

/**
 * The headers of the calls of any client whose secret `env` holds, with service tokens from
 * the auth server at `authUrl` (one per client and audience, reused until shortly before it
 * expires).
 * @throws ConfigError, from the first call of a client, naming the variable at fault
 * (`<CLIENT>_CLIENT_SECRET`, ...).
 */
export function clientHeaders(
  env: Readonly<Record<string, string | undefined>>,
  authUrl: string,
): CallHeaders {
  const clients = new Map<string, InternalCallCredentials>();
  return async (clientId, audience) => {
    let credentials = clients.get(clientId);
    if (!credentials) {
      const config = loadInternalAuthConfig(
        { ...env, AUTH_SERVER_URL: authUrl },
        { serviceName: clientId, ownTokens: 'token-endpoint' },
      );
      credentials = new InternalCallCredentials(config, { timeoutMs: 5000 });
      clients.set(clientId, credentials);
    }
    return { ...(await credentials.forCall(audience)).headers };
  };
}

/**
 * The headers of the operator's call to `audience`, at the auth server at `authUrl`.
 * @throws ConfigError naming the variable at fault (OPERATOR_CLIENT_SECRET, ...).
 */
export function operatorHeaders(
  env: Readonly<Record<string, string | undefined>>,
  authUrl: string,
  audience: ServiceAudience,
): Promise<Record<string, string>> {
  return clientHeaders(env, authUrl)('operator', audience);
}
