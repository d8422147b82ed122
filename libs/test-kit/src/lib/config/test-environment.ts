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

/** The inherited variables a child service process needs (not the developer's secrets). */
export function inheritedProcessEnvironment(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ', 'NODE_OPTIONS'];
  return Object.fromEntries(
    keep.flatMap((name) =>
      process.env[name] === undefined ? [] : [[name, process.env[name] as string]],
    ),
  );
}
