import { type Environment, readChoice, readInteger } from '@zt/service-utils';

/** How the Nest hello fixture runs. */
export interface NestHelloConfig {
  /** The port it listens on (`BENCH_PORT`, default 0: any free port). */
  readonly port: number;
  /** Its HTTP adapter (`HTTP_ADAPTER`, `express` by default, as the services). */
  readonly adapter: 'express' | 'fastify';
}

/** Reads the fixture's settings from `env`. */
export function loadNestHelloConfig(env: Environment): NestHelloConfig {
  return {
    port: readInteger(env, 'BENCH_PORT', 0, { min: 0, max: 65535 }),
    adapter: readChoice(env, 'HTTP_ADAPTER', ['express', 'fastify'], 'express'),
  };
}

/** The settings of this process: the only place the fixture reads `process.env`. */
export function loadNestHelloConfigFromProcess(): NestHelloConfig {
  return loadNestHelloConfig(process.env);
}
