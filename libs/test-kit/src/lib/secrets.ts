import { clientSecretVariable } from '@zt/service-utils';
import { randomBytes } from 'node:crypto';

/** A fresh strong internal token, as `npm start` generates one. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Fresh secrets for service clients, and the auth server's environment that holds them. */
export interface ClientSecrets {
  /** Each client's secret, by client id. */
  readonly secrets: Readonly<Record<string, string>>;
  /** `<CLIENT>_CLIENT_SECRET` for each client: give it to the auth server. */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * A fresh 256-bit secret for each of `clientIds` (as `npm start` generates them), with the
 * variables that give them to the auth server. Never print either.
 */
export function generateClientSecrets(clientIds: readonly string[]): ClientSecrets {
  const secrets = Object.fromEntries(clientIds.map((id) => [id, generateToken()]));
  const env = Object.fromEntries(
    clientIds.map((id) => [clientSecretVariable(id), secrets[id] as string]),
  );
  return { secrets, env };
}
