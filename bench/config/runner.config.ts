// The runner's only reads of its own environment (a root check keeps `process.env` in
// config/ folders): the PostgreSQL and Redis servers, and what the children inherit.
import type { Environment } from '@zt/stack-launcher';

/** The server to use: BENCH_DATABASE_URL, else TEST_DATABASE_URL, else the local default. */
export function postgresAdminUrl(env: Environment = process.env): string {
  return (
    env['BENCH_DATABASE_URL']?.trim() ||
    env['TEST_DATABASE_URL']?.trim() ||
    'postgresql://postgres@127.0.0.1:5432/postgres'
  );
}

/** The Redis of the rate-limit scenario: BENCH_REDIS_URL, else TEST_REDIS_URL, else the local default. */
export function redisUrl(env: Environment = process.env): string {
  return (
    env['BENCH_REDIS_URL']?.trim() || env['TEST_REDIS_URL']?.trim() || 'redis://127.0.0.1:6379'
  );
}

/** This process's environment, from which the launcher picks what a child may inherit. */
export function runnerEnvironment(): Environment {
  return process.env;
}
