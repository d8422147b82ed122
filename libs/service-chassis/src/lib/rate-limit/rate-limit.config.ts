import {
  ConfigError,
  type Environment,
  readInteger,
  readOptionalString,
  readString,
} from '@zt/service-utils';

/** Where request counts are kept, and how many internal requests one client may make. */
export interface RateLimitConfig {
  /**
   * Secret (may carry a password): Redis, shared by every replica (`REDIS_URL`, `redis:` or
   * `rediss:`). Unset: counts are kept in this process's memory (the embedded default), so a
   * limit holds per replica only.
   */
  readonly redisUrl: string | undefined;
  /** Prefix of every key this platform writes to Redis (`REDIS_KEY_PREFIX`, default `zt`). */
  readonly keyPrefix: string;
  /**
   * Internal requests one calling client may make to this service per window, over all its
   * replicas (`RATE_LIMIT_INTERNAL_REQUESTS`, default 1000; `0` turns the limit off).
   */
  readonly internalRequests: number;
  /**
   * The window of {@link internalRequests}, counted from a client's first request in it
   * (`RATE_LIMIT_INTERNAL_WINDOW_SECONDS`, 1 to 3600, default 1).
   */
  readonly internalWindowSeconds: number;
}

/** {@link RateLimitConfig.internalRequests} when unset: 1000 a second per client. */
export const DEFAULT_INTERNAL_REQUESTS = 1000;

/**
 * Reads `REDIS_URL`, `REDIS_KEY_PREFIX`, `RATE_LIMIT_INTERNAL_REQUESTS` and
 * `RATE_LIMIT_INTERNAL_WINDOW_SECONDS`.
 * @throws ConfigError naming the variable at fault.
 */
export function loadRateLimitConfig(env: Environment): RateLimitConfig {
  return {
    redisUrl: readRedisUrl(env),
    keyPrefix: readKeyPrefix(env),
    internalRequests: readInteger(env, 'RATE_LIMIT_INTERNAL_REQUESTS', DEFAULT_INTERNAL_REQUESTS, {
      min: 0,
      max: 1_000_000,
    }),
    internalWindowSeconds: readInteger(env, 'RATE_LIMIT_INTERNAL_WINDOW_SECONDS', 1, {
      min: 1,
      max: 3600,
    }),
  };
}

function readRedisUrl(env: Environment): string | undefined {
  const raw = readOptionalString(env, 'REDIS_URL');
  if (raw === undefined) return undefined;
  let protocol: string | undefined;
  try {
    protocol = new URL(raw).protocol;
  } catch {
    // reported below, without the value: it may hold a password
  }
  if (protocol !== 'redis:' && protocol !== 'rediss:') {
    throw new ConfigError('REDIS_URL', 'must be a redis:// or rediss:// URL');
  }
  return raw;
}

function readKeyPrefix(env: Environment): string {
  const prefix = readString(env, 'REDIS_KEY_PREFIX', 'zt');
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(prefix)) {
    throw new ConfigError('REDIS_KEY_PREFIX', 'must be 1 to 64 letters, digits or _ . : -');
  }
  return prefix;
}
