// Service identity for the bench: client secrets as `npm start` generates them, and service
// tokens from a real auth server, fetched as the services fetch theirs (the trust kit's
// client credentials grant). The runner runs under `tsx --tsconfig tsconfig.base.json`, which
// maps `@zt/*` to the libraries' source. No secret is ever logged or written to results.
import { SERVICE_CLIENTS } from '@zt/contracts';
import { clientCredentialsGrant, clientSecretVariable } from '@zt/service-utils';
import { randomBytes } from 'node:crypto';

/** Secret: the client secrets of one run (every client of SERVICE_CLIENTS), and their variables. */
export class ClientSecrets {
  readonly #secrets = new Map<string, string>(
    // 256 random bits, base64url: what `npm start` writes into .env.
    SERVICE_CLIENTS.map(({ clientId }) => [clientId, randomBytes(32).toString('base64url')]),
  );

  /** `<CLIENT>_CLIENT_SECRET` for every client. */
  environment(): Record<string, string> {
    return Object.fromEntries(
      [...this.#secrets].map(([id, secret]) => [clientSecretVariable(id), secret]),
    );
  }

  /** The `Authorization` header of a token request as `clientId` (client_secret_basic). */
  basicAuthorization(clientId: string): string {
    // RFC 6749 section 2.3.1: each part form-encoded before the base64.
    const encode = (value: string) => encodeURIComponent(value).replaceAll('%20', '+');
    return `Basic ${Buffer.from(`${encode(clientId)}:${encode(this.secretOf(clientId))}`).toString('base64')}`;
  }

  /** `clientId`'s secret. */
  secretOf(clientId: string): string {
    const secret = this.#secrets.get(clientId);
    if (secret === undefined) throw new Error(`no client ${clientId} in SERVICE_CLIENTS`);
    return secret;
  }
}

/** The form body of a client-credentials request for `audience`. */
export function tokenRequestBody(audience: string): string {
  return new URLSearchParams({ grant_type: 'client_credentials', audience }).toString();
}

/** A service token of `clientId` for `audience` from the auth server at `authUrl`. */
export async function fetchServiceToken(
  authUrl: string,
  secrets: ClientSecrets,
  clientId: string,
  audience: string,
): Promise<string> {
  const grant = clientCredentialsGrant(
    {
      tokenEndpoint: new URL(`${authUrl}/oauth2/token`),
      clientId,
      clientSecret: secrets.secretOf(clientId),
    },
    { timeoutMs: 10_000 },
  );
  return (await grant(audience)).accessToken;
}
