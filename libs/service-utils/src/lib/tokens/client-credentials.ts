import { type OAuthAnswer, postAsOAuthClient } from './oauth-client-post';
import type { ObtainedServiceToken, ServiceTokenFetcher } from './service-token-cache';
import { SERVICE_TOKEN_MAX_LIFETIME_SECONDS } from './service-token';
import { ServiceTokenUnavailableError } from './service-token-unavailable.error';

/** Who this service is at its issuer's token endpoint. The secret is a secret. */
export interface ServiceClientCredentials {
  /** The issuer's token endpoint (`<AUTH_SERVER_URL>/oauth2/token`). */
  readonly tokenEndpoint: URL;
  /** This service's name. */
  readonly clientId: string;
  /** Secret: `<CLIENT>_CLIENT_SECRET` (or `_NEXT` during a rotation). */
  readonly clientSecret: string;
}

// An RFC 6749 `error` code: printable ASCII without `"` and `\` (section 5.2).
const OAUTH_ERROR_CODE = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,64}$/;

/**
 * Gets service tokens from an OAuth 2.0 token endpoint with the client credentials grant
 * (RFC 6749 section 4.4): `client_secret_basic`, the callee named by `audience`. One POST per
 * token, with a deadline, without redirects or a proxy; the answer is read as RFC 6749
 * section 5.1 (a `Bearer` `access_token` with `expires_in`) or 5.2 (an `error`).
 * @param timeoutMs the deadline of one request (`INTERNAL_HTTP_TIMEOUT_MS`).
 */
export function clientCredentialsGrant(
  client: ServiceClientCredentials,
  { timeoutMs }: { timeoutMs: number },
): ServiceTokenFetcher {
  return async (audience) => {
    let answer: OAuthAnswer;
    try {
      answer = await postAsOAuthClient(
        client.tokenEndpoint,
        client,
        { grant_type: 'client_credentials', audience },
        timeoutMs,
      );
    } catch {
      throw new ServiceTokenUnavailableError(audience, 'unreachable');
    }
    const { status, body } = answer;
    // 429: the issuer's rate limit, passing like an outage (a cached token goes on serving).
    if (status >= 500 || status === 429) {
      throw new ServiceTokenUnavailableError(audience, 'unreachable');
    }
    if (status !== 200) {
      const error = body?.['error'];
      if (typeof error === 'string' && OAUTH_ERROR_CODE.test(error)) {
        throw new ServiceTokenUnavailableError(audience, 'refused', error);
      }
      throw new ServiceTokenUnavailableError(audience, 'invalid_response');
    }
    const token = readTokenResponse(body);
    if (!token) throw new ServiceTokenUnavailableError(audience, 'invalid_response');
    return token;
  };
}

function readTokenResponse(
  body: Readonly<Record<string, unknown>> | undefined,
): ObtainedServiceToken | undefined {
  const accessToken = body?.['access_token'];
  const tokenType = body?.['token_type'];
  const expiresIn = body?.['expires_in'];
  if (
    typeof accessToken !== 'string' ||
    !/^[\x21-\x7e]+$/.test(accessToken) ||
    typeof tokenType !== 'string' ||
    tokenType.toLowerCase() !== 'bearer' ||
    typeof expiresIn !== 'number' ||
    !Number.isInteger(expiresIn) ||
    expiresIn <= 0
  ) {
    return undefined;
  }
  // A longer lifetime than any callee accepts would only keep a token past its usefulness.
  return { accessToken, expiresInSeconds: Math.min(expiresIn, SERVICE_TOKEN_MAX_LIFETIME_SECONDS) };
}
