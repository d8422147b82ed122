import { ConfigError } from './config.error';
import { type Environment, readOptionalString } from './environment';

/** The credentials of the internal trust boundary, validated at boot. Both fields are secrets. */
export interface InternalAuthConfig {
  /** The token this service sends on every internal call (`INTERNAL_SERVICE_TOKEN`). */
  readonly sendToken: string;
  /**
   * Every token this service accepts: the send token first, then the further tokens of
   * `INTERNAL_SERVICE_TOKEN_ACCEPT` (accepted but never sent; this is what makes rotation
   * possible without a failed request).
   */
  readonly acceptedTokens: readonly string[];
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
 * Reads and validates `INTERNAL_SERVICE_TOKEN` and `INTERNAL_SERVICE_TOKEN_ACCEPT`.
 * There is no development mode: a service without a strong token does not start.
 * @throws ConfigError naming the variable (never its value).
 */
export function loadInternalAuthConfig(env: Environment): InternalAuthConfig {
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
