import { join, resolve } from 'node:path';
import { type Environment, readChoice, readInteger, readString } from '@zt/service-utils';
import { HTTP_ADAPTERS, type HttpAdapterKind } from '../http/http-adapter';
import { loadRateLimitConfig, type RateLimitConfig } from '../rate-limit/rate-limit.config';

/** Settings every service of the platform shares, validated at boot. */
export interface ServiceConfig {
  /** The service's name, also its folder under `DATA_DIR`. */
  readonly name: string;
  /** Interface to bind (`HOST`, default `127.0.0.1`; containers set `0.0.0.0`). */
  readonly host: string;
  /** Port to listen on; `0` asks the system for a free one (tests use this). */
  readonly port: number;
  /** The HTTP framework under Nest (`HTTP_ADAPTER`: `express`, the default, or `fastify`). */
  readonly httpAdapter: HttpAdapterKind;
  /** This service's own folder for local state: `DATA_DIR/<name>/`. */
  readonly dataDir: string;
  /** Largest accepted JSON body (`MAX_JSON_BODY_BYTES`, default 64 KiB); 413 beyond. */
  readonly maxJsonBodyBytes: number;
  /** `json` (one JSON object a line, the default) or `text` (for reading in a terminal). */
  readonly logFormat: 'json' | 'text';
  /** The least severe level written (`LOG_LEVEL`, default `info`; `silent` writes nothing). */
  readonly logLevel: LogLevel;
  /**
   * How JSON lines reach standard output (`LOG_WRITES`): `sync` (the default) writes each line
   * before going on, so not even a SIGKILL loses one; `buffered` writes them in the background
   * and flushes what is left when the process exits. Buffered was no faster here and added
   * ~0.6 ms to the internal hop at p50 (docs/decisions.md, "Logs").
   */
  readonly logWrites: LogWrites;
  /** Where rate limits count and the internal routes' per-client allowance. Secret (`REDIS_URL`). */
  readonly rateLimit: RateLimitConfig;
}

/** The log levels `LOG_LEVEL` accepts, most verbose first. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The ways `LOG_WRITES` accepts of writing log lines. */
export const LOG_WRITE_MODES = ['buffered', 'sync'] as const;

/** One of {@link LOG_WRITE_MODES}. */
export type LogWrites = (typeof LOG_WRITE_MODES)[number];

/** How a service names itself and its port variable. */
export interface ServiceIdentity {
  readonly name: string;
  readonly portVariable: string;
  readonly defaultPort: number;
}

/**
 * Reads the settings every service shares: `HOST`, the service's port variable,
 * `HTTP_ADAPTER`, `DATA_DIR`, `MAX_JSON_BODY_BYTES`, `LOG_FORMAT`, `LOG_LEVEL`, `LOG_WRITES`,
 * and the rate limits' (`REDIS_URL`,
 * `REDIS_KEY_PREFIX`, `RATE_LIMIT_INTERNAL_REQUESTS`, `RATE_LIMIT_INTERNAL_WINDOW_SECONDS`).
 * @throws ConfigError naming the variable at fault.
 */
export function loadServiceConfig(env: Environment, identity: ServiceIdentity): ServiceConfig {
  return {
    name: identity.name,
    host: readString(env, 'HOST', '127.0.0.1'),
    port: readInteger(env, identity.portVariable, identity.defaultPort, { min: 0, max: 65535 }),
    httpAdapter: readChoice(env, 'HTTP_ADAPTER', HTTP_ADAPTERS, 'express'),
    dataDir: join(resolve(readString(env, 'DATA_DIR', './data')), identity.name),
    maxJsonBodyBytes: readInteger(env, 'MAX_JSON_BODY_BYTES', 64 * 1024, {
      min: 1024,
      max: 16 * 1024 * 1024,
    }),
    logFormat: readChoice(env, 'LOG_FORMAT', ['json', 'text'], 'json'),
    logLevel: readChoice(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    logWrites: readChoice(env, 'LOG_WRITES', LOG_WRITE_MODES, 'sync'),
    rateLimit: loadRateLimitConfig(env),
  };
}
