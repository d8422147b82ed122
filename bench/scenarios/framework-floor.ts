// 1. Framework floor: raw node:http hello against the same route in NestJS (defaults), and
// NestJS on Fastify against NestJS on Express (context for the adapter rows).
import type { ServiceProcess } from '@zt/stack-launcher';
import { alternate } from '../lib/compare';
import type { BenchContext } from '../lib/context';
import { hammer } from '../lib/load';
import type { Settings } from '../lib/report';
import {
  type ComparisonDefinition,
  type ComparisonLoad,
  comparisonResult,
  type ScenarioResult,
} from '../lib/result';

export const GROUP = 'floor';

export async function run(ctx: BenchContext): Promise<ScenarioResult[]> {
  const { settings } = ctx;
  const [raw, nest, nestFastify] = await Promise.all([
    ctx.group.startServer('raw-hello', ctx.paths.fixture('raw-hello.ts')),
    ctx.group.startServer('nest-hello', ctx.paths.built('nest-hello.js')),
    ctx.group.startServer('nest-hello (fastify)', ctx.paths.built('nest-hello.js'), {
      env: { HTTP_ADAPTER: 'fastify' },
    }),
  ]);
  try {
    const load = (server: ServiceProcess) => (seconds: number) =>
      hammer({ url: `${server.url}/hello`, connections: settings.connections, seconds });
    const definition: ComparisonDefinition = {
      id: 'framework-floor',
      group: GROUP,
      title: 'Framework floor: NestJS hello vs raw node:http hello',
      baseline: { label: 'node:http hello', request: 'GET /hello' },
      subject: { label: 'NestJS 11 (Express) hello, defaults', request: 'GET /hello' },
      load: loadDescription(settings, settings.connections),
      notes: 'Context for the other scenarios: what NestJS itself costs on the smallest route.',
    };
    ctx.log(`${definition.id}: ${definition.title}`);
    const measured = await alternate({
      baseline: load(raw),
      subject: load(nest),
      ...settings,
      log: ctx.log,
    });
    const adapters: ComparisonDefinition = {
      id: 'framework-floor-fastify',
      group: GROUP,
      title: 'NestJS on Fastify vs NestJS on Express: the same hello',
      baseline: { label: 'NestJS 11 (Express) hello, defaults', request: 'GET /hello' },
      subject: { label: 'NestJS 11 (Fastify) hello, defaults', request: 'GET /hello' },
      load: loadDescription(settings, settings.connections),
      notes: 'Context for the adapter rows (HTTP_ADAPTER): what the platform alone gains or loses.',
    };
    ctx.log(`${adapters.id}: ${adapters.title}`);
    const onFastify = await alternate({
      baseline: load(nest),
      subject: load(nestFastify),
      ...settings,
      log: ctx.log,
    });
    return [comparisonResult(definition, measured), comparisonResult(adapters, onFastify)];
  } finally {
    await Promise.all([raw.stop(), nest.stop(), nestFastify.stop()]);
  }
}

/** How a comparison was loaded, for the JSON. */
export function loadDescription(
  settings: Settings,
  connections: number,
  tool = 'autocannon',
): ComparisonLoad {
  return {
    tool,
    connections,
    rounds: settings.rounds,
    secondsPerSide: settings.seconds,
    sliceSeconds: settings.sliceSeconds,
    warmupSeconds: settings.warmupSeconds,
  };
}
