import { oauthApi, type ServiceAudience } from '@zt/contracts';
import {
  clientSecretVariable,
  ConfigError,
  findClientSecretWeakness,
  type Environment,
  readHttpUrl,
  readInteger,
  readOptionalString,
} from '@zt/service-utils';
import { ClientSecretDigests } from '../oauth/client-secret';
import type { ServiceClientPolicy } from '@zt/contracts';
import { findPolicyErrors } from '../oauth/clients.policy';

/** The auth server as the authorization server of the services (DESIGN section 9). */
export interface OAuthConfig {
  /** Lifetime of a service token (`SERVICE_TOKEN_TTL_SECONDS`, 60 to 600, default 300). */
  readonly tokenTtlSeconds: number;
  /**
   * Days a service-token signing key signs before a new one replaces it
   * (`SERVICE_SIGNING_KEY_ROTATION_DAYS`, 1 to 365, default 30).
   */
  readonly keyRotationDays: number;
  /**
   * Where the service-token signing keys are kept (`SERVICE_SIGNING_KEYS_FILE`); under the
   * data folder when absent.
   */
  readonly signingKeysFile: string | undefined;
  /**
   * The base URL of each service (`AUTH_SERVER_URL`, `BILLING_SERVER_URL`,
   * `FILESYSTEM_SERVER_URL`, `BACKEND_URL`): a token request's `resource` names one of them.
   */
  readonly serviceUrls: Readonly<Record<ServiceAudience, string>>;
  /** The service clients: the versioned policy. */
  readonly clients: readonly ServiceClientPolicy[];
  /**
   * Secret-derived: the SHA-256 digests of each client's secrets (`<CLIENT>_CLIENT_SECRET` and,
   * during a rotation, `<CLIENT>_CLIENT_SECRET_NEXT`). The secrets themselves are not kept.
   */
  readonly clientSecrets: ReadonlyMap<string, ClientSecretDigests>;
  /**
   * Service-token requests (client credentials) and revocations one authenticated client may
   * make together per minute, over every replica (`RATE_LIMIT_OAUTH_PER_MINUTE`, default
   * 600; 0 turns the limit off). A service asks for a token per callee every few minutes.
   */
  readonly clientRequestsPerMinute: number;
}

/**
 * Reads the service-token settings and every client's secrets from `env`. A client without a
 * secret cannot authenticate, and the server starts all the same.
 * @throws ConfigError naming the variable at fault: a secret under 256 bits, a `_NEXT`
 *   secret without a current one, or the same secret as current and next; or an unsound
 *   policy (`SERVICE_CLIENTS`).
 */
export function loadOAuthConfig(
  env: Environment,
  clients: readonly ServiceClientPolicy[],
  own: { authServerUrl: string; billingServerUrl: string },
): OAuthConfig {
  const policyErrors = findPolicyErrors(clients);
  if (policyErrors.length > 0) {
    throw new ConfigError('SERVICE_CLIENTS', `policy is unsound: ${policyErrors.join('; ')}`);
  }
  const clientSecrets = new Map<string, ClientSecretDigests>();
  for (const client of clients) {
    const variable = clientSecretVariable(client.clientId);
    const current = readSecret(env, variable);
    const next = readSecret(env, `${variable}_NEXT`);
    if (next !== undefined && current === undefined) {
      throw new ConfigError(`${variable}_NEXT`, `is set without ${variable}`);
    }
    if (next !== undefined && next === current) {
      throw new ConfigError(`${variable}_NEXT`, `is the same secret as ${variable}`);
    }
    clientSecrets.set(client.clientId, ClientSecretDigests.of(current, next));
  }
  return {
    tokenTtlSeconds: readInteger(env, 'SERVICE_TOKEN_TTL_SECONDS', 300, {
      min: 60,
      max: oauthApi.MAX_SERVICE_TOKEN_LIFETIME_SECONDS,
    }),
    keyRotationDays: readInteger(env, 'SERVICE_SIGNING_KEY_ROTATION_DAYS', 30, {
      min: 1,
      max: 365,
    }),
    signingKeysFile: readOptionalString(env, 'SERVICE_SIGNING_KEYS_FILE'),
    clientRequestsPerMinute: readInteger(env, 'RATE_LIMIT_OAUTH_PER_MINUTE', 600, {
      min: 0,
      max: 1_000_000,
    }),
    serviceUrls: {
      'auth-server': own.authServerUrl,
      'billing-server': own.billingServerUrl,
      'filesystem-server': readHttpUrl(env, 'FILESYSTEM_SERVER_URL', 'http://127.0.0.1:6002'),
      backend: readHttpUrl(env, 'BACKEND_URL', 'http://127.0.0.1:8000'),
    },
    clients,
    clientSecrets,
  };
}

/** A client secret from `variable`, or `undefined` when unset or empty. */
function readSecret(env: Environment, variable: string): string | undefined {
  const secret = env[variable];
  if (secret === undefined || secret === '') return undefined;
  const weakness = findClientSecretWeakness(secret);
  if (weakness) throw new ConfigError(variable, weakness);
  return secret;
}
