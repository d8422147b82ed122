// Where the CPU of a benchmark process goes, from the V8 profiles that
// `npm run bench -- --cpu-prof <dir>` leaves in <dir> (one .cpuprofile per process, and
// processes.json naming them):
//
//   npx tsx bench/tools/profile-summary.ts <dir | file.cpuprofile> [more ...]
//
// Each sample is given to the innermost frame on its stack that belongs to a category
// (logging, metrics, JWT verification, outgoing calls, the pg client, validation, ...), else
// to the package of the frame that was running; the table shows each category's share of
// the time the process was not idle.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

/** The fields of a V8 `.cpuprofile` this reads. */
interface CallFrame {
  readonly functionName: string;
  readonly url: string;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

type Test = (frame: CallFrame) => boolean;

const isNumbers = (value: unknown): value is number[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'number');

function isProfileNode(value: unknown): value is ProfileNode {
  if (typeof value !== 'object' || value === null) return false;
  const { id, callFrame, children } = value as Record<string, unknown>;
  if (typeof callFrame !== 'object' || callFrame === null) return false;
  const { functionName, url } = callFrame as Record<string, unknown>;
  return (
    typeof id === 'number' &&
    typeof functionName === 'string' &&
    typeof url === 'string' &&
    (children === undefined || isNumbers(children))
  );
}

/** A `.cpuprofile` file, checked for the fields this reads. */
function readProfile(file: string): CpuProfile {
  const value: unknown = JSON.parse(readFileSync(file, 'utf8'));
  const { nodes, samples, timeDeltas } = (value ?? {}) as Record<string, unknown>;
  if (
    !Array.isArray(nodes) ||
    !nodes.every(isProfileNode) ||
    !isNumbers(samples) ||
    !isNumbers(timeDeltas)
  ) {
    throw new Error(`${file} is not a V8 CPU profile`);
  }
  return { nodes, samples, timeDeltas };
}

/** processes.json (`{ pid: name }`), or nothing. */
function readNames(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const value: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (typeof value !== 'object' || value === null) return {};
  return Object.fromEntries(
    Object.entries(value).filter(
      (entry): entry is [string, string] => typeof entry[1] === 'string',
    ),
  );
}

const CATEGORIES: ReadonlyArray<readonly [string, Test]> = [
  ['gc', (f) => f.functionName === '(garbage collector)'],
  [
    'logging (pino, pino-http, redaction, writes)',
    (f) =>
      /node_modules\/(pino|pino-http|@pinojs|sonic-boom|nestjs-pino|fast-redact|pino-std-serializers)\//.test(
        f.url,
      ),
  ],
  ['metrics (prom-client)', (f) => /node_modules\/prom-client\//.test(f.url)],
  [
    'JWT verification (jose, crypto)',
    (f) => /node_modules\/jose\//.test(f.url) || /crypto\/sig/.test(f.url),
  ],
  [
    'guards (canActivate: InternalTokenGuard, UserTokenGuard)',
    (f) => f.functionName === 'canActivate',
  ],
  [
    'outgoing HTTP calls (opossum, http client)',
    (f) => /node_modules\/opossum\//.test(f.url) || /_http_client|_http_agent/.test(f.url),
  ],
  ['pg client', (f) => /node_modules\/(pg|pg-protocol|pg-pool|pg-types)\//.test(f.url)],
  [
    'PGlite (WebAssembly PostgreSQL)',
    (f) => /@electric-sql\/pglite/.test(f.url) || f.url.startsWith('wasm://'),
  ],
  ['validation (zod)', (f) => /node_modules\/zod\//.test(f.url)],
  [
    'module loading (start-up)',
    (f) => /modules\/cjs\/loader|bootstrap\/realm|modules\/esm/.test(f.url),
  ],
];
const FRAMEWORK =
  /^(@nestjs\/|express$|router$|body-parser$|rxjs$|path-to-regexp$|finalhandler$|send$|on-finished$|content-type$|qs$|raw-body$|parseurl$|etag$|fresh$)/;

function fallback(frame: CallFrame): string {
  const match = frame.url.match(/node_modules\/((@[^/]+\/)?[^/]+)/);
  if (match)
    return FRAMEWORK.test(match[1]) ? 'NestJS / Express / rxjs' : `other package: ${match[1]}`;
  if (/dist\/(apps|bench)\//.test(frame.url)) return 'our code (apps, libs, fixtures)';
  if (frame.url.startsWith('node:')) return 'Node core (HTTP, streams, sockets)';
  return 'native / other';
}

function summarize(file: string): { all: number; busy: number; totals: Map<string, number> } {
  const profile = readProfile(file);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const frameOf = (id: number): CallFrame => {
    const node = byId.get(id);
    if (!node) throw new Error(`${file}: no node ${id}`);
    return node.callFrame;
  };
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const categoryOf = new Map<number, string>();
  const category = (id: number): string => {
    const known = categoryOf.get(id);
    if (known !== undefined) return known;
    let found: string | undefined;
    for (
      let current: number | undefined = id;
      current !== undefined && !found;
      current = parent.get(current)
    ) {
      const frame = frameOf(current);
      found = CATEGORIES.find(([, test]) => test(frame))?.[0];
    }
    const result = found ?? fallback(frameOf(id));
    categoryOf.set(id, result);
    return result;
  };
  const totals = new Map<string, number>();
  let idle = 0;
  let all = 0;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    all += delta;
    if (frameOf(id).functionName === '(idle)') {
      idle += delta;
      return;
    }
    const name = category(id);
    totals.set(name, (totals.get(name) ?? 0) + delta);
  });
  return { all, busy: all - idle, totals };
}

function profilesIn(path: string): Array<[string, string]> {
  if (statSync(path).isFile()) return [[path, basename(path)]];
  const names = readNames(join(path, 'processes.json'));
  return readdirSync(path)
    .filter((file) => file.endsWith('.cpuprofile'))
    .map((file) => {
      const pid = file.split('.').at(-4) ?? '';
      return [join(path, file), names[pid] ? `${names[pid]} (pid ${pid})` : file];
    });
}

function main(paths: readonly string[]): void {
  if (paths.length === 0) {
    process.stderr.write(
      'usage: npx tsx bench/tools/profile-summary.ts <dir | file.cpuprofile> ...\n',
    );
    process.exit(2);
  }
  for (const [file, label] of paths.flatMap(profilesIn)) {
    const { all, busy, totals } = summarize(file);
    console.log(
      `\n${label}: ${(all / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s busy`,
    );
    for (const [name, time] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, 14)) {
      console.log(`  ${((100 * time) / busy).toFixed(1).padStart(5)}%  ${name}`);
    }
  }
}

main(process.argv.slice(2));
