/**
 * What the test suites read from their environment, in one place.
 * `TEST_DATABASE_URL`: a PostgreSQL server URL whose user may create databases; when set,
 * every database suite also runs against PostgreSQL (`.ci/run` sets it), in a database it
 * creates and drops itself.
 */
export function testDatabaseAdminUrl(): string | undefined {
  const url = process.env['TEST_DATABASE_URL']?.trim();
  return url ? url : undefined;
}

/**
 * `TEST_REDIS_URL`: a Redis the rate-limit suites may write to (under a key prefix of their
 * own); when set, they also run against Redis (`.ci/run` sets it). In CI it must be set.
 */
export function testRedisUrl(): string | undefined {
  const url = process.env['TEST_REDIS_URL']?.trim();
  if (!url && runningInCi()) throw new Error('TEST_REDIS_URL must be set in CI');
  return url ? url : undefined;
}

/** True in CI (`CI=true`), where a suite that cannot run must fail instead of skipping. */
export function runningInCi(): boolean {
  return process.env['CI'] === 'true';
}

/**
 * What an `npm install` child needs beyond {@link inheritedProcessEnvironment}: npm's own
 * settings, the CA bundle and proxies. Still none of the developer's other variables.
 */
export function npmProcessEnvironment(): Record<string, string> {
  const npmVariable = /^(npm_config_\w+|NODE_EXTRA_CA_CERTS|HTTPS?_PROXY|NO_PROXY)$/i;
  return {
    ...inheritedProcessEnvironment(),
    ...Object.fromEntries(
      Object.entries(process.env).filter(
        (entry): entry is [string, string] => npmVariable.test(entry[0]) && entry[1] !== undefined,
      ),
    ),
  };
}

/**
 * The inherited variables a child service process needs (not the developer's secrets), and
 * `HTTP_ADAPTER` when {@link stackHttpAdapter} names one.
 */
export function inheritedProcessEnvironment(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ', 'NODE_OPTIONS'];
  const adapter = stackHttpAdapter();
  return {
    ...Object.fromEntries(
      keep.flatMap((name) =>
        process.env[name] === undefined ? [] : [[name, process.env[name] as string]],
      ),
    ),
    ...(adapter === undefined ? {} : { HTTP_ADAPTER: adapter }),
  };
}

/**
 * `E2E_HTTP_ADAPTER`: the `HTTP_ADAPTER` (`express` or `fastify`) of every service the
 * end-to-end suites start; the services' own default (Express) when unset.
 */
export function stackHttpAdapter(): 'express' | 'fastify' | undefined {
  const adapter = process.env['E2E_HTTP_ADAPTER']?.trim();
  if (!adapter) return undefined;
  if (adapter !== 'express' && adapter !== 'fastify') {
    throw new Error(`E2E_HTTP_ADAPTER must be express or fastify, not "${adapter}"`);
  }
  return adapter;
}

/**
 * `E2E_INTERNAL_AUTH_MODE`: the `INTERNAL_AUTH_MODE` the stack suites run their services in
 * (`token` when unset). `npm test` runs the backend's suites in `token` and in `token+jwt`.
 */
export function stackAuthMode(): 'token' | 'token+jwt' | 'jwt' {
  const mode = process.env['E2E_INTERNAL_AUTH_MODE']?.trim() || 'token';
  if (mode !== 'token' && mode !== 'token+jwt' && mode !== 'jwt') {
    throw new Error(`E2E_INTERNAL_AUTH_MODE must be token, token+jwt or jwt, not "${mode}"`);
  }
  return mode;
}
