// The load generator: autocannon on 127.0.0.1, with latencies recorded at sub-millisecond
// precision (autocannon's own histogram counts whole milliseconds, too coarse for a hop
// that costs a fraction of one).
import autocannon from 'autocannon';
import { type Latencies, Samples } from './stats';

/** What one side answered in a stretch of load. */
export interface Measurement {
  /** 2xx answers. */
  readonly count: number;
  readonly seconds: number;
  /** Of the 2xx answers, in ms. */
  readonly latencies: Latencies;
  readonly non2xx: number;
  readonly errors: number;
}

export interface HammerOptions {
  readonly url: string;
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly setupRequest?: (request: autocannon.Request) => autocannon.Request;
  readonly connections: number;
  readonly seconds: number;
}

/**
 * Sends requests from `connections` keep-alive connections for `seconds` and reports what
 * came back: `{ count, seconds, latencies, non2xx, errors }`, where `count` and `latencies`
 * (ms) are those of 2xx answers. `setupRequest(request)` may rewrite each request (its body,
 * e.g.) before it is sent.
 */
export async function hammer({
  url,
  method = 'GET',
  headers = {},
  body,
  setupRequest,
  connections,
  seconds,
}: HammerOptions): Promise<Measurement> {
  const target = new URL(url);
  if (target.hostname !== '127.0.0.1') {
    throw new Error(`refusing to load ${target.host}: loopback only`);
  }
  const latencies = new Samples();
  let non2xx = 0;
  const instance = autocannon({
    url,
    method,
    headers,
    body,
    connections,
    duration: seconds,
    pipelining: 1,
    timeout: 10,
    // Checks for the end every 50 ms (the default, 1 s, rounds short runs up to whole seconds).
    sampleInt: 50,
    ...(setupRequest ? { requests: [{ setupRequest }] } : {}),
  });
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    else non2xx += 1;
  });
  const result = await instance;
  return {
    count: latencies.length,
    seconds: result.duration > 0 ? result.duration : seconds,
    latencies: latencies.toArray(),
    non2xx,
    errors: result.errors + result.timeouts,
  };
}

/** Throws when a measurement is mostly failures: then it measures a misconfiguration. */
export function assertMostlyOk(
  label: string,
  measurement: Pick<Measurement, 'count' | 'non2xx' | 'errors'>,
): void {
  const failed = measurement.non2xx + measurement.errors;
  if (measurement.count === 0 || failed > measurement.count * 0.01) {
    throw new Error(
      `${label}: ${measurement.count} answers OK, ${failed} failed (non-2xx ${measurement.non2xx}, errors ${measurement.errors})`,
    );
  }
}
