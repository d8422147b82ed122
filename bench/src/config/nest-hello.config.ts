import { type Environment, readInteger } from '@zt/service-utils';

/** The port the Nest hello fixture listens on (`BENCH_PORT`, default 0: any free port). */
export function loadNestHelloPort(env: Environment): number {
  return readInteger(env, 'BENCH_PORT', 0, { min: 0, max: 65535 });
}

/** The port of this process: the only place the fixture reads `process.env`. */
export function loadNestHelloPortFromProcess(): number {
  return loadNestHelloPort(process.env);
}
