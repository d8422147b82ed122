// The scripts' own environment, read here only (as the apps read theirs in their config/
// folders): the shell's variables, which the scripts pass on to what they start, and the few
// variables that configure a script itself.

/** The variables of the shell that ran the script, as they are now. */
export const shellEnvironment: NodeJS.ProcessEnv = process.env;

/**
 * STACK_ENV_FILE: the env file to use instead of the repository's `.env` (the end-to-end test
 * of npm start uses a scratch one, so it never touches a developer's .env).
 */
export const envFileOverride: string | undefined = shellEnvironment.STACK_ENV_FILE || undefined;

/**
 * The PostgreSQL server on which the drill creates its scratch database for billing:
 * DRILL_DATABASE_URL, else TEST_DATABASE_URL; none means PGlite (the embedded default).
 */
export const drillAdminDatabaseUrl: string | undefined =
  shellEnvironment.DRILL_DATABASE_URL || shellEnvironment.TEST_DATABASE_URL || undefined;
