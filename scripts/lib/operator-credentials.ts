// The internal credential of an operator's command (`npm run invite`), in the stack's
// INTERNAL_AUTH_MODE: the shared token in `token` and `token+jwt` mode, and a service token of
// the `operator` client (OPERATOR_CLIENT_SECRET, which npm start generates) in `token+jwt` and
// `jwt` mode. Runs under `tsx --tsconfig tsconfig.base.json`, which maps `@zt/*` to source.
import type { ServiceAudience } from '@zt/contracts';
import { clientCredentialsGrant, clientSecretVariable } from '@zt/service-utils';

const OPERATOR = 'operator';

/** The headers of the operator's call to `audience`, at the auth server at `authUrl`. */
export async function operatorHeaders(
  env: Readonly<Record<string, string | undefined>>,
  authUrl: string,
  audience: ServiceAudience,
): Promise<Record<string, string>> {
  const mode = env.INTERNAL_AUTH_MODE || 'token';
  const headers: Record<string, string> = {};
  if (env.INTERNAL_SERVICE_TOKEN) headers['X-INTERNAL-TOKEN'] = env.INTERNAL_SERVICE_TOKEN;
  if (mode === 'token') return headers;
  const variable = clientSecretVariable(OPERATOR);
  const clientSecret = env[variable];
  if (!clientSecret) {
    throw new Error(`${variable} is not set (INTERNAL_AUTH_MODE=${mode}; npm start generates it)`);
  }
  const grant = clientCredentialsGrant(
    { tokenEndpoint: new URL('/oauth2/token', authUrl), clientId: OPERATOR, clientSecret },
    { timeoutMs: 5000 },
  );
  const { accessToken } = await grant(audience);
  return { ...headers, Authorization: `Bearer ${accessToken}` };
}
