// Service identity for the bench: client secrets as `npm start` generates them, and service
// tokens fetched from a real auth server with client credentials (client_secret_basic). The
// runner loads no workspace code at run time (only the launcher, from dist/), so this is a
// small copy of what the kit's client does. No secret is ever logged or written to results.
import { randomBytes } from 'node:crypto';
import { call, expectStatus, stringField } from './stack';

/**
 * The client ids of SERVICE_CLIENTS (libs/contracts), each of which gets a secret: a client
 * without one cannot authenticate. Kept in step by hand; the auth server ignores a secret of a
 * client it does not know, and a missing one fails the first token request of the run.
 */
export const CLIENT_IDS = [
  'auth-server',
  'backend',
  'billing-server',
  'filesystem-server',
  'operator',
  'metrics-scraper',
] as const;

export type ClientId = (typeof CLIENT_IDS)[number];

/** Secret: the client secrets of one run, and the variables that carry them. */
export class ClientSecrets {
  readonly #secrets = new Map<ClientId, string>(
    // 256 random bits, base64url: what `npm start` writes into .env.
    CLIENT_IDS.map((id) => [id, randomBytes(32).toString('base64url')]),
  );

  /** `<CLIENT>_CLIENT_SECRET` for every client (id upper-cased, dashes to underscores). */
  environment(): Record<string, string> {
    return Object.fromEntries(
      [...this.#secrets].map(([id, secret]) => [
        `${id.toUpperCase().replaceAll('-', '_')}_CLIENT_SECRET`,
        secret,
      ]),
    );
  }

  /** The `Authorization` header of a token request as `clientId` (client_secret_basic). */
  basicAuthorization(clientId: ClientId): string {
    const secret = this.#secrets.get(clientId);
    if (secret === undefined) throw new Error(`no secret for ${clientId}`);
    // RFC 6749 section 2.3.1: each part form-encoded before the base64.
    const encode = (value: string) => encodeURIComponent(value).replaceAll('%20', '+');
    return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`;
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
  clientId: ClientId,
  audience: string,
): Promise<string> {
  const body = expectStatus(
    `POST /oauth2/token (${clientId} for ${audience})`,
    await call(`${authUrl}/oauth2/token`, {
      method: 'POST',
      headers: {
        Authorization: secrets.basicAuthorization(clientId),
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: tokenRequestBody(audience),
    }),
    200,
  );
  return stringField('POST /oauth2/token', body, 'access_token');
}
