import { Logger, type OnModuleDestroy } from '@nestjs/common';
import type { Redis } from 'ioredis';
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import type { RateLimitConfig } from './rate-limit.config';

// A Redis that answers slower than this is treated as down for that request: the count falls
// back to this process's memory rather than holding the request longer.
const REDIS_COMMAND_TIMEOUT_MS = 200;
// How long start-up waits for Redis before counting in memory until it connects.
const REDIS_CONNECT_TIMEOUT_MS = 2_000;

/**
 * Where the platform's rate limits count (rate-limiter-flexible): in Redis when `REDIS_URL` is
 * set, so that a limit holds across the replicas of a service, else in this process's memory.
 * While Redis cannot be reached, each limiter counts in memory instead (its insurance), so an
 * outage of Redis loosens a limit to per replica rather than refusing or stalling requests.
 *
 * Made with {@link RateLimitStore.open} (`RateLimitModule` does it).
 */
export class RateLimitStore implements OnModuleDestroy {
  private constructor(
    private readonly keyPrefix: string,
    private readonly redis: Redis | undefined,
  ) {}

  /**
   * The store `config` asks for. With `REDIS_URL`, it waits until Redis is connected (at most
   * {@link REDIS_CONNECT_TIMEOUT_MS}), so that the first requests are counted where every
   * replica sees them; a Redis that does not answer in time leaves the counts in memory until
   * it does. Without it, the Redis client is not even loaded: about 10 MiB of resident memory
   * per service (bench/findings.md).
   */
  static async open(config: RateLimitConfig): Promise<RateLimitStore> {
    if (config.redisUrl === undefined) return new RateLimitStore(config.keyPrefix, undefined);
    const redis = await connectRedis(config.redisUrl);
    return new RateLimitStore(config.keyPrefix, redis);
  }

  /** Whether Redis is connected now (false without `REDIS_URL`). */
  get connected(): boolean {
    return this.redis?.status === 'ready';
  }

  /** Where counts are kept: `redis` (shared by replicas) or `memory` (this process only). */
  get kind(): 'redis' | 'memory' {
    return this.redis === undefined ? 'memory' : 'redis';
  }

  /**
   * A limiter of `points` per `durationSeconds` for each key, its keys under
   * `<REDIS_KEY_PREFIX>:rl:<name>`.
   */
  limiter(name: string, points: number, durationSeconds: number): RateLimiterAbstract {
    const keyPrefix = `${this.keyPrefix}:rl:${name}`;
    const memory = new RateLimiterMemory({ keyPrefix, points, duration: durationSeconds });
    if (this.redis === undefined) return memory;
    return new RateLimiterRedis({
      storeClient: this.redis,
      keyPrefix,
      points,
      duration: durationSeconds,
      rejectIfRedisNotReady: true,
      insuranceLimiter: memory,
    });
  }

  async onModuleDestroy(): Promise<void> {
    if (this.redis === undefined) return;
    // quit() waits for Redis; a Redis that is gone would hold shutdown.
    this.redis.disconnect();
  }
}

/** A client of the Redis at `url`, connected or given up on after the connect timeout. */
async function connectRedis(url: string): Promise<Redis> {
  const { Redis } = await import('ioredis');
  const logger = new Logger(RateLimitStore.name);
  const redis = new Redis(url, {
    // Fail a command at once while disconnected, so the insurance counts it.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
  });
  // One line when Redis is lost and one when it is back; never the URL (it may hold a password).
  let down = false;
  redis.on('error', (error: Error) => {
    if (down) return;
    down = true;
    logger.warn({ event: 'rate_limit_store_unavailable', error: error.message });
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    logger.log({ event: 'rate_limit_store_available' });
  });
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, REDIS_CONNECT_TIMEOUT_MS);
    redis.once('ready', done);
  });
  return redis;
}

/**
 * Spends one point of `key` at `limiter`.
 * @returns 0 when it was there to spend, else the milliseconds until one is (at least 1).
 */
export async function spendPoint(limiter: RateLimiterAbstract, key: string): Promise<number> {
  try {
    await limiter.consume(key);
    return 0;
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) return Math.max(1, rejection.msBeforeNext);
    throw rejection;
  }
}
