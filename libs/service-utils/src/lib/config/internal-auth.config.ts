import type { ServiceTokenSettings } from '../tokens/service-token';
import { ConfigError } from './config.error';
import { type Environment, readChoice, readHttpUrl, readOptionalString } from './environment';

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

/** How the issuer's key set is fetched: 3 s deadline, 30 s between unknown-`kid` refetches, fresh 10 min. */
export const DEFAULT_KEY_SET = { timeoutMs: 3_000, cooldownMs: 30_000, cacheMaxAgeMs: 600_000 };

/** The credentials of the internal trust boundary, validated at boot. The tokens are secrets. */
export interface InternalAuthConfig {
  /** The token this service sends on every internal call (`INTERNAL_SERVICE_TOKEN`). */
  readonly sendToken: string;
  /**
   * Every token this service accepts: the send token first, then the further tokens of
   * `INTERNAL_SERVICE_TOKEN_ACCEPT` (accepted but never sent; this is what makes rotation
   * possible without a failed request).
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
}

/** The smallest accepted token length, in characters. */
export const MIN_TOKEN_LENGTH = 32;
/** The smallest number of distinct characters in an accepted token. */
export const MIN_TOKEN_DISTINCT_CHARACTERS = 12;

// Fragments of values that people paste from examples instead of generating a secret.
const PLACEHOLDER_FRAGMENTS = [
  'YOUR_GENERATED_TOKEN',
  'TOKEN_HERE',
  'SECRET_HERE',
  'PLACEHOLDER',
  'CHANGEME',
  'CHANGE_ME',
  'CHANGE-ME',
  'REPLACE_ME',
  'REPLACE-ME',
  'EXAMPLE',
];

/**
 * Explains why `token` is unacceptable as an internal credential, or returns `undefined`
 * when it is acceptable. The explanation never contains the token.
 */
export function findTokenWeakness(token: string): string | undefined {
  if (token.length === 0) return 'is empty';
  if (token.length < MIN_TOKEN_LENGTH) return `is shorter than ${MIN_TOKEN_LENGTH} characters`;
  if (new Set(token).size < MIN_TOKEN_DISTINCT_CHARACTERS) {
    return `has fewer than ${MIN_TOKEN_DISTINCT_CHARACTERS} distinct characters`;
  }
  if (/[\s,]/.test(token)) return 'contains white space or a comma';
  if (/[^\x21-\x7e]/.test(token)) return 'contains characters outside visible ASCII';
  const upper = token.toUpperCase();
  if (PLACEHOLDER_FRAGMENTS.some((fragment) => upper.includes(fragment))) {
    return 'is a placeholder: generate one with `openssl rand -base64 32`';
  }
  return undefined;
}

/**
 * Reads and validates `INTERNAL_SERVICE_TOKEN` and `INTERNAL_SERVICE_TOKEN_ACCEPT`, and
 * `INTERNAL_AUTH_MODE` / `INTERNAL_AUTH_SHADOW` with, when either needs service tokens,
 * `AUTH_SERVER_URL` (their issuer). `serviceName` is this service's name: the audience its
 * service tokens must name. There is no development mode: a service without a strong token
 * does not start. (The shared token stays required in every mode for now: the client side of
 * service tokens comes next, and until then our services call each other with it.)
 * @throws ConfigError naming the variable (never its value).
 */
export function loadInternalAuthConfig(
  env: Environment,
  { serviceName }: { serviceName?: string } = {},
): InternalAuthConfig {
  const tokens = loadSharedTokens(env);
  const mode = readChoice(env, 'INTERNAL_AUTH_MODE', INTERNAL_AUTH_MODES, 'token');
  const shadow = readChoice(env, 'INTERNAL_AUTH_SHADOW', ['off', 'jwt'] as const, 'off');
  if (shadow === 'jwt' && mode !== 'token') {
    throw new ConfigError(
      'INTERNAL_AUTH_SHADOW',
      'jwt is a rehearsal for INTERNAL_AUTH_MODE=token only',
    );
  }
  if (mode === 'token' && shadow === 'off') return { ...tokens, mode };

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
  return {
    ...tokens,
    mode,
    ...(shadow === 'jwt' ? { shadow } : {}),
    serviceTokens: {
      issuer,
      jwksUrl: new URL(`${issuer}${SERVICE_TOKEN_JWKS_PATH}`),
      audience: serviceName,
      keySet: DEFAULT_KEY_SET,
    },
  };
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
