// 3b. The internal HTTP client with and without its opossum breaker, calling a raw node:http
// server from a closed loop in its own process (bench/src/client-loop.ts); for context, the
// client against a bare node:http call, and axios with the trust kit's adapter against the client.
import { alternate, type SideRun } from '../lib/compare';
import type { BenchContext } from '../lib/context';
import type { Worker } from '../lib/processes';
import { type ComparisonDefinition, comparisonResult, type ScenarioResult } from '../lib/result';
import { loadDescription } from './framework-floor';

export const GROUP = 'breaker';

export async function run(ctx: BenchContext): Promise<ScenarioResult[]> {
  const { settings } = ctx;
  const upstream = await ctx.group.startServer('raw-hello', ctx.paths.fixture('raw-hello.ts'));
  let client: Worker | undefined;
  try {
    const worker = await ctx.group.startWorker('client-loop', ctx.paths.built('client-loop.js'), {
      env: { INTERNAL_SERVICE_TOKEN: ctx.token, BENCH_UPSTREAM_URL: upstream.url },
    });
    client = worker;
    const definition: ComparisonDefinition = {
      id: 'breaker',
      group: GROUP,
      title: 'Internal client: with vs without the opossum circuit breaker',
      baseline: { label: 'InternalHttpClient, breaker: false', request: 'GET /json' },
      subject: { label: 'InternalHttpClient with its breaker', request: 'GET /json' },
      load: loadDescription(settings, settings.connections, 'closed loop in the client process'),
      target: {
        metric: 'ratio',
        op: '>=',
        value: 0.98,
        description: 'the breaker costs <= 2% of calls/s',
      },
      notes:
        'One client process, two InternalHttpClient instances alike but for the upstream option breaker: false on the baseline (same request preparation, retries, deadline and keep-alive agent; no opossum). Upstream: raw node:http answering {"ok":true}.',
    };
    ctx.log(`${definition.id}: ${definition.title}`);
    const loop =
      (mode: 'breaker' | 'direct' | 'node-http' | 'axios'): SideRun =>
      async (seconds) => {
        const result = await worker.ask({
          type: 'run',
          mode,
          path: '/json',
          connections: settings.connections,
          seconds,
        });
        return {
          count: result.count,
          seconds: result.seconds,
          latencies: result.latencies,
          non2xx: 0,
          errors: result.failures,
        };
      };
    const measured = await alternate({
      baseline: loop('direct'),
      subject: loop('breaker'),
      ...settings,
      log: ctx.log,
    });

    const overhead: ComparisonDefinition = {
      id: 'client-overhead',
      group: GROUP,
      title: 'Internal client vs a bare node:http keep-alive call, same server and route',
      baseline: { label: 'node:http request, keep-alive agent', request: 'GET /json' },
      subject: {
        label: 'InternalHttpClient (node:http, checks, deadline, breaker)',
        request: 'GET /json',
      },
      load: loadDescription(settings, settings.connections, 'closed loop in the client process'),
      notes:
        'Context for the internal hop: what one call through the internal client costs beyond the HTTP exchange itself. Both send the same headers and parse the same JSON answer.',
    };
    ctx.log(`${overhead.id}: ${overhead.title}`);
    const overheadMeasured = await alternate({
      baseline: loop('node-http'),
      subject: loop('breaker'),
      ...settings,
      log: ctx.log,
    });

    const onAxios: ComparisonDefinition = {
      id: 'client-axios',
      group: GROUP,
      title:
        "axios with the trust kit's adapter vs the kit's InternalHttpClient, same server and route",
      baseline: {
        label: 'InternalHttpClient (node:http, checks, deadline, breaker)',
        request: 'GET /json',
      },
      subject: {
        label: 'axios + createInternalAxios (@zt/service-utils-axios)',
        request: 'GET /json',
      },
      load: loadDescription(settings, settings.connections, 'closed loop in the client process'),
      notes:
        "Why the kit's own client stays on node:http, and what a team that keeps axios pays per call. Both send the internal credential and X-Caller-Service and parse the same JSON answer; axios runs with a keep-alive agent and the adapter's interceptor, without retries or a breaker.",
    };
    ctx.log(`${onAxios.id}: ${onAxios.title}`);
    const onAxiosMeasured = await alternate({
      baseline: loop('breaker'),
      subject: loop('axios'),
      ...settings,
      log: ctx.log,
    });
    return [
      comparisonResult(definition, measured),
      comparisonResult(overhead, overheadMeasured),
      comparisonResult(onAxios, onAxiosMeasured),
    ];
  } finally {
    await Promise.all([client?.stop(), upstream.stop()]);
  }
}
