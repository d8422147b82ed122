// Preloaded (`node --require dist/bench/allocation-probe.js main.js`) into a process whose
// allocation the bench measures. SIGWINCH starts a window (and writes `{"started":true}` to
// ALLOCATION_PROBE_FILE); the next SIGWINCH ends it and writes there what the process
// allocated on V8's heap in between, as JSON (`AllocationWindow`, bench/lib/allocation.ts).
// Not SIGUSR2: our services shut down on it (Nest's shutdown hooks listen to every signal of
// its ShutdownSignal list); SIGWINCH is ignored by default and is not on that list.
//
// Allocated bytes are not a counter V8 exposes; they are what the heap grew by between
// collections: for each collection, the heap used before it minus the heap used after the
// previous one (or at the start), plus the growth since the last. Node's GCProfiler gives
// both sides of every collection in the window.
//
// With ALLOCATION_PROBE_PROFILE_DIR set, each window also leaves an allocation profile there
// (`<pid>-<n>.heapprofile`, for bench/tools/profile-summary.ts): V8's sampling heap profiler,
// keeping the samples of objects already collected, so that it shows what was allocated
// rather than what is still alive.
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { GCProfiler, getHeapStatistics } from 'node:v8';
import { loadAllocationProbeConfigFromProcess } from './config/allocation-probe.config';

const { file, profileDir } = loadAllocationProbeConfigFromProcess();

let window: { profiler: GCProfiler; usedAtStart: number; startedAt: number } | undefined;
let session: Session | undefined;
let windows = 0;

function startSampling(): void {
  if (!profileDir) return;
  session ??= new Session();
  session.connect();
  session.post('HeapProfiler.enable');
  session.post('HeapProfiler.startSampling', {
    samplingInterval: 8192,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
}

/** Stops the sampling of this window and writes its profile, then calls `then`. */
function stopSampling(then: () => void): void {
  if (!profileDir || !session) return then();
  const current = session;
  current.post('HeapProfiler.stopSampling', (error, result) => {
    if (!error) {
      mkdirSync(profileDir, { recursive: true });
      writeFileSync(
        join(profileDir, `${process.pid}-${windows}.heapprofile`),
        JSON.stringify(result.profile),
      );
    }
    current.disconnect();
    then();
  });
}

process.on('SIGWINCH', () => {
  if (window === undefined) {
    const profiler = new GCProfiler();
    profiler.start();
    window = { profiler, usedAtStart: getHeapStatistics().used_heap_size, startedAt: Date.now() };
    startSampling();
    writeFileSync(file, JSON.stringify({ started: true }));
    return;
  }
  windows += 1;
  const { profiler, usedAtStart, startedAt } = window;
  window = undefined;
  const usedAtEnd = getHeapStatistics().used_heap_size;
  const collections = profiler.stop().statistics;
  let allocatedBytes = 0;
  let usedAfterLast = usedAtStart;
  let pauseMicros = 0;
  for (const collection of collections) {
    allocatedBytes += collection.beforeGC.heapStatistics.usedHeapSize - usedAfterLast;
    usedAfterLast = collection.afterGC.heapStatistics.usedHeapSize;
    pauseMicros += collection.cost;
  }
  allocatedBytes += usedAtEnd - usedAfterLast;
  const ms = Date.now() - startedAt;
  stopSampling(() =>
    writeFileSync(
      file,
      JSON.stringify({
        allocatedBytes,
        collections: collections.length,
        pauseMs: pauseMicros / 1000,
        ms,
      }),
    ),
  );
});
