import { clientSecretVariable, findClientSecretWeakness } from '../tokens/client-secret';
import type { ServiceClientCredentials } from '../tokens/client-credentials';
import type { KeySetOptions } from '../tokens/jwt-verifier';
import type { ServiceTokenSettings } from '../tokens/service-token';
import type { IntrospectionSettings } from '../tokens/token-introspector';
import { ConfigError } from './config.error';
import { findTokenWeakness } from './token-strength';
import {
  type Environment,
  readChoice,
  readHttpUrl,
  readInteger,
  readOptionalString,
} from './environment';

/**
 * What the internal guard asks of a caller (`INTERNAL_AUTH_MODE`, DESIGN section 9):
 * - `token` (the default): `X-INTERNAL-TOKEN` alone, as before service identity;
 * - `token+jwt`: both, with the caller's identity and scopes from its service token;
 * - `jwt`: `Authorization: Bearer <service token>` alone.
 */
export const INTERNAL_AUTH_MODES = ['token', 'token+jwt', 'jwt'] as const;
export type InternalAuthMode = (typeof INTERNAL_AUTH_MODES)[number];

/**
 * Where the issuer publishes the keys of service tokens, relative to its URL
 * (`AUTH_SERVER_URL`): auth-server's `jwks_uri` (RFC 8414 metadata), a key set apart from the
 * user tokens' `/.well-known/jwks.json`, so neither kind of token finds a key where the other
 * is verified.
 */
export const SERVICE_TOKEN_JWKS_PATH = '/oauth2/jwks';

/** Where the issuer hands out service tokens, relative to its URL: its `token_endpoint`. */
export const SERVICE_TOKEN_ENDPOINT_PATH = '/oauth2/token';

/** Where the issuer introspects service tokens, relative to its URL: its `introspection_endpoint`. */
export const INTROSPECTION_ENDPOINT_PATH = '/oauth2/introspect';

/** How long an active introspection answer is trusted by default (`INTROSPECTION_CACHE_MS`). */
export const DEFAULT_INTROSPECTION_CACHE_MS = 5_000;

/** The deadline of one introspection request by default (`INTROSPECTION_TIMEOUT_MS`). */
export const DEFAULT_INTROSPECTION_TIMEOUT_MS = 3_000;

/** How the issuer's key set is fetched: 3 s deadline, 30 s between unknown-`kid` refetches, fresh 10 min. */
export const DEFAULT_KEY_SET = { timeoutMs: 3_000, cooldownMs: 30_000, cacheMaxAgeMs: 600_000 };

/**
 * How the auth server's key sets are fetched (`JWKS_TIMEOUT_MS`, `JWKS_COOLDOWN_MS`,
 * `JWKS_CACHE_MAX_AGE_MS`; {@link DEFAULT_KEY_SET} when unset): the user tokens' at the
 * backend and the service tokens' at every service that verifies them. A fetch is an outgoing
 * call like any other, so its deadline comes from configuration: behind a load balancer that
 * queues requests while the auth server restarts, it must be able to wait as long as the
 * other calls do.
 * @throws ConfigError naming the variable out of range.
 */
export function readKeySetOptions(env: Environment): KeySetOptions {
  return {
    timeoutMs: readInteger(env, 'JWKS_TIMEOUT_MS', DEFAULT_KEY_SET.timeoutMs, {
      min: 100,
      max: 60_000,
    }),
    cooldownMs: readInteger(env, 'JWKS_COOLDOWN_MS', DEFAULT_KEY_SET.cooldownMs, {
      min: 1000,
      max: 3_600_000,
    }),
    cacheMaxAgeMs: readInteger(env, 'JWKS_CACHE_MAX_AGE_MS', DEFAULT_KEY_SET.cacheMaxAgeMs, {
      min: 1000,
      max: 86_400_000,
    }),
  };
}

/** The credentials of the internal trust boundary, validated at boot. The tokens are secrets. */
export interface InternalAuthConfig {
  /**
   * The token this service sends on every internal call (`INTERNAL_SERVICE_TOKEN`). Required
   * in every mode but `jwt`, where it is sent when set (to callees still in `token+jwt`).
   */
  readonly sendToken?: string;
  /**
   * Every token this service accepts: the send token first, then the further tokens of
   * `INTERNAL_SERVICE_TOKEN_ACCEPT` (accepted but never sent; this is what makes rotation
   * possible without a failed request). Unused in `jwt` mode.
   */
  readonly acceptedTokens: readonly string[];
  /** What the guard asks of a caller; `token` when absent. */
  readonly mode?: InternalAuthMode;
  /**
   * `jwt` (`INTERNAL_AUTH_SHADOW`): in `token` mode, also checks the service token as `jwt`
   * mode would, and logs and counts what it would refuse, without refusing (for migration).
   */
  readonly shadow?: 'jwt';
  /** How service tokens are verified: set when `mode` or `shadow` needs them. */
  readonly serviceTokens?: ServiceTokenSettings;
  /**
   * Secret: how this service gets its own service tokens for its calls, when `mode` or
   * `shadow` needs them and `<CLIENT>_CLIENT_SECRET` is set (a service that calls nobody
   * needs none).
   */
  readonly serviceClient?: ServiceClientCredentials;
  /**
   * Set with `INTERNAL_AUTH_INTROSPECTION=on`: how the routes marked `@Introspected()` ask the
   * issuer whether a caller's token is still active (its client secret is this service's).
   */
  readonly introspection?: IntrospectionSettings;
  /**
   * Secret: the read-only scrape credential (`METRICS_TOKEN`), which a `@ScrapeOnly()` route
   * (`GET /metrics`) accepts as `Authorization: Bearer` in `token` and `token+jwt` mode; it
   * opens nothing else. Absent: those routes take no static token (in `token` mode, none at all).
   */
  readonly metricsToken?: string;
}

/** Who the service is, and how it gets the service tokens of its own calls. */
export interface InternalAuthConfigOptions {
  /** This service's name: its client id, and the audience of the tokens it accepts. */
  readonly serviceName?: string;
  /**
   * Where the service tokens of its own calls come from: `token-endpoint` (its client secret,
   * then required whenever the mode sends tokens), `in-process` (the issuer itself), or
   * absent for a service that calls no other service.
   */
  readonly ownTokens?: 'token-endpoint' | 'in-process';
}

/**
 * Reads and validates `INTERNAL_AUTH_MODE` / `INTERNAL_AUTH_SHADOW`;
 * `INTERNAL_SERVICE_TOKEN` and `INTERNAL_SERVICE_TOKEN_ACCEPT` (required in every mode but
 * `jwt`); and, when the mode or shadow needs service tokens, `AUTH_SERVER_URL` (their issuer)
 * and this service's own client secret, `<CLIENT>_CLIENT_SECRET` (its `_NEXT` when set: the
 * issuer accepts both during a rotation, and the newer one is the one to send), and how the
 * issuer's key set is fetched ({@link readKeySetOptions}). `serviceName`
 * is this service's name: its client id and the audience its service tokens must name.
 * `METRICS_TOKEN` (optional, not in `jwt` mode) is the scrape credential of `@ScrapeOnly()`
 * routes. There
 * is no development mode: a service without a strong credential does not start.
 * @throws ConfigError naming the variable (never its value).
 */
export function loadInternalAuthConfig(
  env: Environment,
  { serviceName, ownTokens }: InternalAuthConfigOptions = {},
): InternalAuthConfig {
  const mode = readChoice(env, 'INTERNAL_AUTH_MODE', INTERNAL_AUTH_MODES, 'token');
  const tokens =
    mode === 'jwt' && readOptionalString(env, 'INTERNAL_SERVICE_TOKEN') === undefined
      ? { acceptedTokens: [] }
      : loadSharedTokens(env);
  const shadow = readChoice(env, 'INTERNAL_AUTH_SHADOW', ['off', 'jwt'] as const, 'off');
  if (shadow === 'jwt' && mode !== 'token') {
    throw new ConfigError(
      'INTERNAL_AUTH_SHADOW',
      'jwt is a rehearsal for INTERNAL_AUTH_MODE=token only',
    );
  }
  if (mode === 'token') rejectIntrospection(env);
  const metricsToken = mode === 'jwt' ? undefined : readMetricsToken(env, tokens.acceptedTokens);
  const metrics = metricsToken === undefined ? {} : { metricsToken };
  if (mode === 'token' && shadow === 'off') return { ...tokens, ...metrics, mode };

  const needs = shadow === 'jwt' ? 'INTERNAL_AUTH_SHADOW=jwt' : `INTERNAL_AUTH_MODE=${mode}`;
  if (readOptionalString(env, 'AUTH_SERVER_URL') === undefined) {
    throw new ConfigError(
      'AUTH_SERVER_URL',
      `is required with ${needs} (the service tokens' issuer)`,
    );
  }
  if (serviceName === undefined) {
    throw new TypeError(`loadInternalAuthConfig: ${needs} needs the service's name (its audience)`);
  }
  const issuer = readHttpUrl(env, 'AUTH_SERVER_URL', '');
  const clientSecret = readOwnClientSecret(env, serviceName);
  if (ownTokens === 'token-endpoint' && clientSecret === undefined) {
    throw new ConfigError(
      clientSecretVariable(serviceName),
      `is required with ${needs}: ${serviceName} calls other services with its service token`,
    );
  }
  const introspection = readIntrospection(env, mode, issuer, serviceName, clientSecret);
  return {
    ...tokens,
    ...metrics,
    mode,
    ...(shadow === 'jwt' ? { shadow } : {}),
    ...(introspection ? { introspection } : {}),
    serviceTokens: {
      issuer,
      jwksUrl: new URL(`${issuer}${SERVICE_TOKEN_JWKS_PATH}`),
      audience: serviceName,
      keySet: readKeySetOptions(env),
    },
    ...(clientSecret === undefined
      ? {}
      : {
          serviceClient: {
            tokenEndpoint: new URL(`${issuer}${SERVICE_TOKEN_ENDPOINT_PATH}`),
            clientId: serviceName,
            clientSecret,
          },
        }),
  };
}

/**
 * `INTERNAL_AUTH_INTROSPECTION` (`off` by default, or `on`), `INTROSPECTION_CACHE_MS` (0 to
 * 60000) and `INTROSPECTION_TIMEOUT_MS` (100 to 60000): the settings of `@Introspected()`
 * routes, which ask as this service's client.
 */
function readIntrospection(
  env: Environment,
  mode: InternalAuthMode,
  issuer: string,
  serviceName: string,
  clientSecret: string | undefined,
): IntrospectionSettings | undefined {
  if (readChoice(env, 'INTERNAL_AUTH_INTROSPECTION', ['off', 'on'] as const, 'off') === 'off') {
    return undefined;
  }
  if (clientSecret === undefined) {
    throw new ConfigError(
      clientSecretVariable(serviceName),
      `is required with INTERNAL_AUTH_INTROSPECTION=on (INTERNAL_AUTH_MODE=${mode}): ` +
        `${serviceName} asks the issuer about tokens as its own client`,
    );
  }
  return {
    endpoint: new URL(`${issuer}${INTROSPECTION_ENDPOINT_PATH}`),
    client: { clientId: serviceName, clientSecret },
    timeoutMs: readInteger(env, 'INTROSPECTION_TIMEOUT_MS', DEFAULT_INTROSPECTION_TIMEOUT_MS, {
      min: 100,
      max: 60_000,
    }),
    cacheMs: readInteger(env, 'INTROSPECTION_CACHE_MS', DEFAULT_INTROSPECTION_CACHE_MS, {
      min: 0,
      max: 60_000,
    }),
  };
}

/** In `token` mode there is no service token to introspect: `on` would protect nothing. */
function rejectIntrospection(env: Environment): void {
  if (readChoice(env, 'INTERNAL_AUTH_INTROSPECTION', ['off', 'on'] as const, 'off') === 'on') {
    throw new ConfigError(
      'INTERNAL_AUTH_INTROSPECTION',
      'on needs INTERNAL_AUTH_MODE token+jwt or jwt (token mode has no service token to ask about)',
    );
  }
}

/**
 * `METRICS_TOKEN`, the read-only scrape credential: optional; when set, at least 256 random
 * bits (hex or unpadded base64url, as a client secret) and none of the shared tokens, which
 * would hand the scraper a credential that can move money. Ignored in `jwt` mode, where a
 * scraper brings a service token (read by the caller: a `.env` written by `npm start` keeps it).
 */
function readMetricsToken(env: Environment, sharedTokens: readonly string[]): string | undefined {
  const token = env['METRICS_TOKEN'];
  if (token === undefined || token === '') return undefined;
  const weakness = findClientSecretWeakness(token);
  if (weakness) throw new ConfigError('METRICS_TOKEN', weakness);
  if (sharedTokens.includes(token)) {
    throw new ConfigError(
      'METRICS_TOKEN',
      'must differ from INTERNAL_SERVICE_TOKEN and INTERNAL_SERVICE_TOKEN_ACCEPT (it is read-only; they can move money)',
    );
  }
  return token;
}

/** `<CLIENT>_CLIENT_SECRET_NEXT` when set, else `<CLIENT>_CLIENT_SECRET`, checked for strength. */
function readOwnClientSecret(env: Environment, serviceName: string): string | undefined {
  const current = clientSecretVariable(serviceName);
  for (const variable of [`${current}_NEXT`, current]) {
    const secret = env[variable];
    if (secret === undefined || secret === '') continue;
    const weakness = findClientSecretWeakness(secret);
    if (weakness) throw new ConfigError(variable, weakness);
    return secret;
  }
  return undefined;
}

function loadSharedTokens(
  env: Environment,
): Pick<InternalAuthConfig, 'sendToken' | 'acceptedTokens'> {
  const sendToken = env['INTERNAL_SERVICE_TOKEN'];
  if (sendToken === undefined) {
    throw new ConfigError('INTERNAL_SERVICE_TOKEN', 'is not set (see .env.example)');
  }
  const weakness = findTokenWeakness(sendToken);
  if (weakness) throw new ConfigError('INTERNAL_SERVICE_TOKEN', weakness);

  const accepted = [sendToken];
  const extra = readOptionalString(env, 'INTERNAL_SERVICE_TOKEN_ACCEPT');
  if (extra !== undefined) {
    extra.split(',').forEach((entry, index) => {
      const token = entry.trim();
      const entryWeakness = findTokenWeakness(token);
      if (entryWeakness) {
        throw new ConfigError(
          'INTERNAL_SERVICE_TOKEN_ACCEPT',
          `entry ${index + 1} ${entryWeakness}`,
        );
      }
      if (!accepted.includes(token)) accepted.push(token);
    });
  }
  return { sendToken, acceptedTokens: accepted };
}
