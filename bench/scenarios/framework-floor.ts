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
    const compare = async (
      definition: Omit<ComparisonDefinition, 'group' | 'load'>,
      baseline: ServiceProcess,
      subject: ServiceProcess,
    ) => {
      const full = {
        ...definition,
        group: GROUP,
        load: loadDescription(settings, settings.connections),
      };
      ctx.log(`${full.id}: ${full.title}`);
      const measured = await alternate({
        baseline: load(baseline),
        subject: load(subject),
        ...settings,
        log: ctx.log,
      });
      return comparisonResult(full, measured);
    };
    return [
      await compare(
        {
          id: 'framework-floor',
          title: 'Framework floor: NestJS hello vs raw node:http hello',
          baseline: { label: 'node:http hello', request: 'GET /hello' },
          subject: { label: 'NestJS 11 (Express) hello, defaults', request: 'GET /hello' },
          notes: 'Context for the other scenarios: what NestJS itself costs on the smallest route.',
        },
        raw,
        nest,
      ),
      await compare(
        {
          id: 'framework-floor-fastify',
          title: 'NestJS on Fastify vs NestJS on Express: the same hello',
          baseline: { label: 'NestJS 11 (Express) hello, defaults', request: 'GET /hello' },
          subject: { label: 'NestJS 11 (Fastify) hello, defaults', request: 'GET /hello' },
          notes:
            'Context for the adapter rows (HTTP_ADAPTER): what the platform alone gains or loses.',
        },
        nest,
        nestFastify,
      ),
    ];
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
