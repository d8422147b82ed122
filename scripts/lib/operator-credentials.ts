// The internal credential of an operator's command (`npm run invite`), in the stack's
// INTERNAL_AUTH_MODE, as the kit gives it to any caller: the shared token in `token` and
// `token+jwt` mode, and a service token of the `operator` client (OPERATOR_CLIENT_SECRET, or
// its _NEXT during a rotation; npm start generates it) in `token+jwt` and `jwt` mode. Runs under
// `tsx --tsconfig tsconfig.base.json`, which maps `@zt/*` to source.
import type { ServiceAudience } from '@zt/contracts';
import { InternalCallCredentials, loadInternalAuthConfig } from '@zt/service-utils';

/**
 * The headers of the operator's call to `audience`, at the auth server at `authUrl`.
 * @throws ConfigError naming the variable at fault (OPERATOR_CLIENT_SECRET, ...).
 */
export async function operatorHeaders(
  env: Readonly<Record<string, string | undefined>>,
  authUrl: string,
  audience: ServiceAudience,
): Promise<Record<string, string>> {
  const config = loadInternalAuthConfig(
    { ...env, AUTH_SERVER_URL: authUrl },
    { serviceName: 'operator', ownTokens: 'token-endpoint' },
  );
  const credentials = new InternalCallCredentials(config, { timeoutMs: 5000 });
  return { ...(await credentials.forCall(audience)).headers };
}
