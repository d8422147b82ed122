// Where the CPU of a benchmark process goes, from the V8 profiles that
// `npm run bench -- --cpu-prof <dir>` leaves in <dir> (one .cpuprofile per process, and
// processes.json naming them), or where its allocations go, from the .heapprofile files of
// `bench/tools/allocation-compare.ts --heap-prof <dir>`:
//
//   npx tsx bench/tools/profile-summary.ts <dir | file.cpuprofile | file.heapprofile> [more ...]
//
// Each sample is given to the innermost frame on its stack that is code of a package or of
// ours (Node's own frames and native ones count for whoever called them: a socket write by pg
// is pg's), as its category (logging, metrics, JWT verification, outgoing calls, the pg
// client, validation, ...) or else its package; a sample with no such frame stays Node's (the
// HTTP parser, timers). The table shows each category's share of the time the process was
// not idle, or of the bytes allocated.
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

/** A `.heapprofile` (V8's sampling heap profiler): a tree of frames, each with its bytes. */
interface HeapProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly selfSize: number;
  readonly children: readonly HeapProfileNode[];
}

/** What is summarized: the frames as a flat tree, and the weight of each sample. */
interface Weighted {
  readonly nodes: readonly ProfileNode[];
  /** [node id, weight]: microseconds of a CPU sample, bytes of a heap node. */
  readonly samples: ReadonlyArray<readonly [number, number]>;
  readonly unit: 'time' | 'bytes';
}

function isHeapProfileNode(value: unknown): value is HeapProfileNode {
  if (typeof value !== 'object' || value === null) return false;
  const { selfSize, children } = value as Record<string, unknown>;
  return (
    isProfileNode({ ...value, children: undefined }) &&
    typeof selfSize === 'number' &&
    Array.isArray(children) &&
    children.every(isHeapProfileNode)
  );
}

/** A `.heapprofile` file, flattened: each node's own bytes are its one sample. */
function readHeapProfile(file: string): Weighted {
  const { head } = JSON.parse(readFileSync(file, 'utf8')) as { head?: unknown };
  if (!isHeapProfileNode(head)) throw new Error(`${file} is not a V8 heap profile`);
  const nodes: ProfileNode[] = [];
  const samples: Array<[number, number]> = [];
  const visit = (node: HeapProfileNode): void => {
    nodes.push({
      id: node.id,
      callFrame: node.callFrame,
      children: node.children.map((child) => child.id),
    });
    if (node.selfSize > 0) samples.push([node.id, node.selfSize]);
    node.children.forEach(visit);
  };
  visit(head);
  return { nodes, samples, unit: 'bytes' };
}

/** A `.cpuprofile` or `.heapprofile` file, as weighted samples. */
function readWeighted(file: string): Weighted {
  if (file.endsWith('.heapprofile')) return readHeapProfile(file);
  const profile = readProfile(file);
  return {
    nodes: profile.nodes,
    samples: profile.samples.map((id, index) => [id, profile.timeDeltas[index] ?? 0] as const),
    unit: 'time',
  };
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
  /^(@nestjs\/|express$|router$|body-parser$|rxjs$|path-to-regexp$|finalhandler$|send$|on-finished$|content-type$|qs$|raw-body$|parseurl$|etag$|fresh$|fastify$|@fastify\/|find-my-way$|avvio$|light-my-request$|fast-json-stringify$)/;

/** A frame of a package or of our build; Node's own and native frames are not. */
function isPackageOrOurs(frame: CallFrame): boolean {
  return /node_modules\/|dist\/(apps|bench)\//.test(frame.url);
}

function fallback(frame: CallFrame): string {
  const match = frame.url.match(/node_modules\/((@[^/]+\/)?[^/]+)/);
  if (match)
    return FRAMEWORK.test(match[1])
      ? 'NestJS / Express or Fastify / rxjs'
      : `other package: ${match[1]}`;
  if (/dist\/(apps|bench)\//.test(frame.url)) return 'our code (apps, libs, fixtures)';
  if (frame.url.startsWith('node:')) return 'Node core (HTTP, streams, sockets)';
  return 'native / other';
}

function summarize(file: string): {
  all: number;
  busy: number;
  totals: Map<string, number>;
  unit: Weighted['unit'];
} {
  const profile = readWeighted(file);
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
    let result: string | undefined;
    for (
      let current: number | undefined = id;
      current !== undefined && result === undefined;
      current = parent.get(current)
    ) {
      const frame = frameOf(current);
      result = CATEGORIES.find(([, test]) => test(frame))?.[0];
      // The first frame of a package or of ours decides: the walk stops there, so that what
      // runs inside a middleware's next() is not counted as that middleware's.
      if (result === undefined && isPackageOrOurs(frame)) result = fallback(frame);
    }
    result ??= fallback(frameOf(id));
    categoryOf.set(id, result);
    return result;
  };
  const totals = new Map<string, number>();
  let idle = 0;
  let all = 0;
  profile.samples.forEach(([id, delta]) => {
    all += delta;
    if (frameOf(id).functionName === '(idle)') {
      idle += delta;
      return;
    }
    const name = category(id);
    totals.set(name, (totals.get(name) ?? 0) + delta);
  });
  return { all, busy: all - idle, totals, unit: profile.unit };
}

function profilesIn(path: string): Array<[string, string]> {
  if (statSync(path).isFile()) return [[path, basename(path)]];
  const names = readNames(join(path, 'processes.json'));
  return readdirSync(path)
    .filter((file) => file.endsWith('.cpuprofile') || file.endsWith('.heapprofile'))
    .map((file) => {
      const pid = file.split('.').at(-4) ?? '';
      return [join(path, file), names[pid] ? `${names[pid]} (pid ${pid})` : file];
    });
}

function main(paths: readonly string[]): void {
  if (paths.length === 0) {
    process.stderr.write(
      'usage: npx tsx bench/tools/profile-summary.ts <dir | file.cpuprofile | file.heapprofile> ...\n',
    );
    process.exit(2);
  }
  for (const [file, label] of paths.flatMap(profilesIn)) {
    const { all, busy, totals, unit } = summarize(file);
    console.log(
      unit === 'bytes'
        ? `\n${label}: ${(all / 2 ** 20).toFixed(1)} MiB allocated (sampled)`
        : `\n${label}: ${(all / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s busy`,
    );
    for (const [name, time] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, 14)) {
      console.log(`  ${((100 * time) / busy).toFixed(1).padStart(5)}%  ${name}`);
    }
  }
}

main(process.argv.slice(2));
