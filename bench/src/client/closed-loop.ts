import { performance } from 'node:perf_hooks';

/** What one measured run of {@link runClosedLoop} reports. */
export interface LoopResult {
  /** Calls completed (answered below 500) within the run. */
  readonly count: number;
  /** Calls that threw (upstream unavailable and the like). */
  readonly failures: number;
  /** Measured duration in seconds. */
  readonly seconds: number;
  /** The latency of each completed call, in milliseconds. */
  readonly latencies: number[];
}

const MAX_SAMPLES = 1_000_000;

/**
 * Runs `call` from `connections` concurrent loops (each waits for its answer before the next
 * call, as autocannon's connections do) for `seconds`, and reports what was answered.
 */
export async function runClosedLoop(
  call: () => Promise<unknown>,
  connections: number,
  seconds: number,
): Promise<LoopResult> {
  const latencies: number[] = [];
  let failures = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const loop = async () => {
    while (performance.now() < deadline && latencies.length < MAX_SAMPLES) {
      const sent = performance.now();
      try {
        await call();
        latencies.push(performance.now() - sent);
      } catch {
        failures += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
  return {
    count: latencies.length,
    failures,
    seconds: (performance.now() - started) / 1000,
    latencies,
  };
}
