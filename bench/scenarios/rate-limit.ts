// Rate limiter cost (issue 14 item 2): the guard fixture's guarded balance read with the
// per-client limit off vs counted, in memory and in Redis (rate-limiter-flexible, one Lua
// round trip per request). The limit is set far above the load, so every request is counted
// and none refused: what is measured is the counting.
import { connect } from 'node:net';
import type { ServiceProcess } from '@zt/stack-launcher';
import { redisUrl } from '../config/runner.config';
import { alternate, type SideRun } from '../lib/compare';
import type { BenchContext } from '../lib/context';
import { hammer } from '../lib/load';
import {
  comparisonResult,
  type ComparisonDefinition,
  type ScenarioResult,
  skippedResult,
} from '../lib/result';
import { loadDescription } from './framework-floor';

export const GROUP = 'rate-limit';

const REDIS_URL = redisUrl();
const FAR_ABOVE_THE_LOAD = '1000000';

function definition(store: 'memory' | 'redis', ctx: BenchContext): ComparisonDefinition {
  return {
    id: `rate-limit-${store}`,
    group: GROUP,
    title: `Per-client rate limit counted in ${store === 'memory' ? 'memory' : 'Redis'} vs no limit (guarded in-memory balance)`,
    baseline: { label: 'RATE_LIMIT_INTERNAL_REQUESTS=0', request: 'GET /guarded/memory/:user_id' },
    subject: {
      label: `RATE_LIMIT_INTERNAL_REQUESTS=${FAR_ABOVE_THE_LOAD}${store === 'redis' ? ', REDIS_URL set' : ''}`,
      request: 'GET /guarded/memory/:user_id',
    },
    load: loadDescription(ctx.settings, ctx.settings.connections),
    notes:
      "Two processes of the guard fixture (bench/src/guard, with the RateLimitModule the services import), alternated. The limit is far above the load: every request spends a point (the guard awaits the count), none is refused. Redis is the machine's own on loopback.",
  };
}

export async function run(ctx: BenchContext): Promise<ScenarioResult[]> {
  const redisUp = await reachable(new URL(REDIS_URL));
  const start = (name: string, env: Record<string, string>) =>
    ctx.group.startServer(name, ctx.paths.built('guard-server.js'), {
      env: { INTERNAL_SERVICE_TOKEN: ctx.token, BENCH_PORT: '0', LOG_LEVEL: 'info', ...env },
    });
  const off = await start('guard-server (no rate limit)', { RATE_LIMIT_INTERNAL_REQUESTS: '0' });
  const results: ScenarioResult[] = [];
  try {
    for (const store of ['memory', 'redis'] as const) {
      const def = definition(store, ctx);
      if (store === 'redis' && !redisUp) {
        results.push(skippedResult(def, `no Redis answers at ${new URL(REDIS_URL).host}`));
        continue;
      }
      const counted = await start(`guard-server (rate limit in ${store})`, {
        RATE_LIMIT_INTERNAL_REQUESTS: FAR_ABOVE_THE_LOAD,
        REDIS_KEY_PREFIX: `zt-bench-${process.pid}`,
        ...(store === 'redis' ? { REDIS_URL } : {}),
      });
      try {
        ctx.log(`${def.id}: ${def.title}`);
        const load =
          (target: ServiceProcess): SideRun =>
          (seconds) =>
            hammer({
              url: `${target.url}/guarded/memory/user-7`,
              headers: { 'X-INTERNAL-TOKEN': ctx.token },
              connections: ctx.settings.connections,
              seconds,
            });
        const measured = await alternate({
          baseline: load(off),
          subject: load(counted),
          ...ctx.settings,
          log: ctx.log,
        });
        results.push(comparisonResult(def, measured));
      } finally {
        await counted.stop();
      }
    }
  } finally {
    await off.stop();
  }
  return results;
}

function reachable(url: URL): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(Number(url.port || 6379), url.hostname);
    socket.setTimeout(1_000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}
