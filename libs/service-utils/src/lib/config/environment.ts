import { ConfigError } from './config.error';

/** The process environment, or any record standing in for it in tests. */
export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * Reads an integer variable, falling back to `fallback` when it is unset or empty.
 * @throws ConfigError naming the variable when the value is not an integer in `[min, max]`.
 */
export function readInteger(
  env: Environment,
  variable: string,
  fallback: number,
  { min, max }: { min: number; max: number },
): number {
  const raw = env[variable];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^[0-9]+$/.test(raw.trim())) {
    throw new ConfigError(variable, `must be a whole number between ${min} and ${max}`);
  }
  const value = Number(raw.trim());
  if (value < min || value > max) {
    throw new ConfigError(variable, `must be a whole number between ${min} and ${max}`);
  }
  return value;
}

/** Reads a string variable, falling back to `fallback` when it is unset or empty. */
export function readString(env: Environment, variable: string, fallback: string): string {
  const raw = env[variable]?.trim();
  return raw ? raw : fallback;
}

/** Reads an optional string variable: `undefined` when unset or empty. */
export function readOptionalString(env: Environment, variable: string): string | undefined {
  const raw = env[variable]?.trim();
  return raw ? raw : undefined;
}

/**
 * Reads a variable that must be one of `choices`.
 * @throws ConfigError naming the variable and the accepted values.
 */
export function readChoice<T extends string>(
  env: Environment,
  variable: string,
  choices: readonly T[],
  fallback: T,
): T {
  const raw = readOptionalString(env, variable);
  if (raw === undefined) return fallback;
  if (!(choices as readonly string[]).includes(raw)) {
    throw new ConfigError(variable, `must be one of: ${choices.join(', ')}`);
  }
  return raw as T;
}

/**
 * Reads the base URL of a service (`AUTH_SERVER_URL` and the like), without a trailing `/`.
 * @throws ConfigError naming the variable when the value is not an `http:` or `https:` URL, or
 *   carries credentials, a query or a fragment (a secret in a URL would reach logs).
 */
export function readHttpUrl(env: Environment, variable: string, fallback: string): string {
  const value = readString(env, variable, fallback);
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    // reported below
  }
  const acceptable =
    url !== undefined &&
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    !url.username &&
    !url.password &&
    !url.search &&
    !url.hash;
  if (!acceptable) {
    throw new ConfigError(
      variable,
      'must be an http(s) URL without credentials, query or fragment',
    );
  }
  return value.replace(/\/+$/, '');
}
