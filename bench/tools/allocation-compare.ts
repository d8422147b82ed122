// Bytes allocated per request by two or more builds of the billing server, measured side by
// side in the same minutes: for a before/after of a change (build the older commit in a git
// worktree, then name both builds). Each build answers GET /balance/:user_id on a scratch
// PostgreSQL database under 16 connections, in alternating windows, with the allocation probe
// preloaded (bench/src/allocation-probe.ts; build it first: npx nx run bench:build).
//
//   npx tsx bench/tools/allocation-compare.ts before=/work/wt-old/dist/apps/billing-server/main.js \
//     after=dist/apps/billing-server/main.js [--rounds 5] [--seconds 2.5] [--env HTTP_ADAPTER=fastify]
//     [--heap-prof DIR]   (an allocation profile of each window in DIR/<label>, for
//                          npx tsx bench/tools/profile-summary.ts DIR/<label>)
//
// A build may name Node flags of its own after commas, to compare one build under two settings
// (label=main.js,--max-semi-space-size=4). Each build's resident memory is read once it has
// opened its account, before any load: its idle RSS.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { postgresAdminUrl } from '../config/runner.config';
import { AllocationProbe } from '../lib/allocation';
import { ROOT } from '../lib/launcher';
import { rssMiB } from '../lib/memory';
import { assertMostlyOk, hammer } from '../lib/load';
import { ScratchDatabases } from '../lib/postgres';
import { ProcessGroup } from '../lib/processes';
import { call, expectStatus } from '../lib/stack';
import { summarize } from '../lib/stats';

const CONNECTIONS = 16;
const USER = 'allocation-compare';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      rounds: { type: 'string', default: '5' },
      seconds: { type: 'string', default: '2.5' },
      env: { type: 'string', multiple: true, default: [] },
      'heap-prof': { type: 'string' },
    },
  });
  const builds = positionals.map((argument) => {
    const [label, value] = argument.split(/=(.*)/s);
    const [main, ...nodeFlags] = (value ?? '').split(',');
    if (!label || !main)
      throw new Error(`expected label=path/to/main.js[,--flag], got ${argument}`);
    return { label, main: resolve(main), nodeFlags };
  });
  if (builds.length < 2) throw new Error('name at least two builds: label=main.js ...');
  const rounds = Number(values.rounds);
  const seconds = Number(values.seconds);
  const extraEnv = Object.fromEntries(values.env.map((pair) => pair.split('=', 2)));

  const tmp = mkdtempSync(join(tmpdir(), 'zt-allocation-'));
  const group = new ProcessGroup(tmp);
  const scratch = new ScratchDatabases(postgresAdminUrl());
  const token = randomBytes(24).toString('hex');
  const headers = { 'X-INTERNAL-TOKEN': token };
  try {
    const servers = [];
    for (const build of builds) {
      const probe = new AllocationProbe(
        tmp,
        build.label,
        join(ROOT, 'dist', 'bench', 'allocation-probe.js'),
      );
      const server = await group.startServer(build.label, build.main, {
        env: {
          BILLING_SERVER_PORT: '0',
          ENV_FILE: '/dev/null',
          INTERNAL_SERVICE_TOKEN: token,
          DATABASE_URL: await scratch.create(),
          ...extraEnv,
          ...probe.env,
          ...(values['heap-prof'] === undefined
            ? {}
            : { ALLOCATION_PROBE_PROFILE_DIR: resolve(values['heap-prof'], build.label) }),
        },
        nodeArgs: [...probe.nodeArgs, ...build.nodeFlags],
      });
      const account = await call(`${server.url}/account`, {
        method: 'POST',
        headers,
        json: { user_id: USER, tier: 'team' },
      });
      expectStatus(`${build.label}: POST /account`, account, 201);
      const idleMiB = server.pid === undefined ? Number.NaN : rssMiB(server.pid);
      const url = `${server.url}/balance/${USER}`;
      // Warm-up: the JIT and the pool settle before anything is counted.
      await hammer({ url, headers, connections: CONNECTIONS, seconds: 3 });
      servers.push({
        ...build,
        server,
        probe,
        url,
        idleMiB,
        perRequest: [] as number[],
        requests: [] as number[],
      });
    }
    for (let round = 1; round <= rounds; round += 1) {
      for (const entry of servers) {
        const window = await entry.probe.measure(entry.server, async () => {
          const measured = await hammer({
            url: entry.url,
            headers,
            connections: CONNECTIONS,
            seconds,
          });
          assertMostlyOk(entry.label, measured);
          return measured.count + measured.non2xx;
        });
        entry.perRequest.push(window.allocatedBytes / window.requests);
        entry.requests.push(window.requests);
        const kib = (window.allocatedBytes / window.requests / 1024).toFixed(1);
        console.log(
          `round ${round}/${rounds} ${entry.label}: ${kib} KiB a request, ${window.requests} requests, ${window.collections} collections (${window.pauseMs.toFixed(0)} ms)`,
        );
      }
    }
    const [first] = servers;
    const firstKiB = summarize(first?.perRequest ?? []).median / 1024;
    const firstRequests = summarize(first?.requests ?? []).median;
    for (const entry of servers) {
      const spread = summarize(entry.perRequest.map((bytes) => bytes / 1024));
      const answered = summarize(entry.requests).median;
      console.log(
        `${entry.label}: ${spread.median.toFixed(1)} KiB a request (${spread.min.toFixed(1)}-${spread.max.toFixed(1)}), ${(spread.median / firstKiB).toFixed(3)} x ${first?.label}; ` +
          `${answered.toFixed(0)} requests a window, ${(answered / firstRequests).toFixed(3)} x; idle RSS ${entry.idleMiB.toFixed(1)} MiB`,
      );
    }
  } finally {
    await group.stopAll();
    await scratch.dropAll();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
