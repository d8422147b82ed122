import {
  builtServiceMain,
  generateToken,
  sendRaw,
  type ServiceProcess,
  startServiceProcess,
} from '@zt/test-kit';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The defaults an operator gets (apps/filesystem-server/src/config). */
const MAX_ENTRIES = 10_000;
const MAX_DEPTH = 32;

/**
 * One user must not make the file service slow or unavailable for others (DESIGN section 6).
 * Before usage was kept and folders counted, ~50 deep writes grew a tree of ~24,000 folders
 * that every later write and listing walked, until the backend's breaker opened for everyone.
 * Here a noisy user fills its whole entry quota with the deepest paths allowed and lists the
 * tree over and over, while a quiet user writes and reads: every one of the quiet user's
 * requests succeeds, and the service stays ready.
 */
describe('filesystem-server under one noisy user (default limits)', () => {
  const token = generateToken();
  let service: ServiceProcess;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'filesystem-fairness-'));
    service = await startServiceProcess({
      main: builtServiceMain('filesystem-server'),
      env: { INTERNAL_SERVICE_TOKEN: token, FILESYSTEM_SERVER_PORT: '0', DATA_DIR: dataDir },
    });
  });

  afterAll(async () => {
    await service.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const call = (method: string, path: string, user: string, body?: string) =>
    sendRaw(service.url, {
      method,
      path,
      headers: ['X-INTERNAL-TOKEN', token, 'X-User-ID', user],
      body,
    });
  /** A path of `MAX_DEPTH` segments: 31 folders of its own under `tree-<n>`, then the file. */
  const deepPath = (n: number) =>
    `/files/tree-${n}/${Array.from({ length: MAX_DEPTH - 2 }, (_, i) => `d${i}`).join('/')}/f`;

  /** Writes deep paths for `user` until the entry quota refuses one; returns how many it stored. */
  async function fillEntryQuota(user: string): Promise<number> {
    for (let n = 0; ; n++) {
      const answer = await call('PUT', deepPath(n), user, 'x');
      if (answer.status === 413) {
        expect(answer.body).toEqual({
          error: `entry quota of ${MAX_ENTRIES} files and folders would be exceeded`,
        });
        return n;
      }
      expect(answer.status).toBe(201);
    }
  }

  it('refuses a path deeper than the limit, and counts folders toward the entry quota', async () => {
    const tooDeep = `/files/${Array.from({ length: MAX_DEPTH + 1 }, () => 'd').join('/')}`;
    expect(await call('PUT', tooDeep, 'noisy', 'x')).toMatchObject({
      status: 400,
      body: { error: `path has more than ${MAX_DEPTH} segments` },
    });

    // Each deep write adds 32 entries (31 folders and the file): the quota stops it there.
    const stored = await fillEntryQuota('noisy-a');
    expect(stored).toBe(Math.floor(MAX_ENTRIES / MAX_DEPTH));
  }, 300_000);

  it("keeps a quiet user's writes and reads succeeding while the noisy one lists its full tree in parallel", async () => {
    await fillEntryQuota('noisy');
    let noisy = true;
    const noisyListings: number[] = [];
    const listings = Array.from({ length: 4 }, async () => {
      while (noisy) noisyListings.push((await call('GET', '/files', 'noisy')).status);
    });
    const noisyWrites = (async () => {
      for (let n = 0; noisy; n++) await call('PUT', deepPath(n % 50), 'noisy', `again ${n}`);
    })();

    const quiet: Array<{ status: number; ms: number }> = [];
    try {
      for (let i = 0; i < 40; i++) {
        let started = performance.now();
        const written = await call('PUT', `/files/notes/${i}.txt`, 'quiet', `note ${i}`);
        quiet.push({ status: written.status, ms: performance.now() - started });
        started = performance.now();
        const read = await call('GET', `/files/notes/${i}.txt`, 'quiet');
        quiet.push({ status: read.status, ms: performance.now() - started });
        expect(read.body).toBe(`note ${i}`);
      }
      const ready = await sendRaw(service.url, { path: '/health/ready' });
      expect(ready.status).toBe(200);
    } finally {
      noisy = false;
      await Promise.all([...listings, noisyWrites]);
    }

    expect(quiet.filter((answer) => answer.status !== 201 && answer.status !== 200)).toEqual([]);
    expect(noisyListings.length).toBeGreaterThan(0);
    expect(noisyListings.every((status) => status === 200)).toBe(true);
    const median = [...quiet.map((answer) => answer.ms)].sort((a, b) => a - b)[quiet.length >> 1];
    console.log(
      `fairness: ${noisyListings.length} full listings of ${MAX_ENTRIES} entries by the noisy user; ` +
        `the quiet user's median request took ${median.toFixed(1)} ms`,
    );
  }, 300_000);
});
