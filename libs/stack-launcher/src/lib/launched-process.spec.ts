import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inheritedEnvironment } from './stack-services';
import { LaunchedProcess, startProcess } from './launched-process';

const FAKE = join(__dirname, '..', 'testing', 'fake-service.mjs');

const options = (env: Record<string, string> = {}) => ({
  name: 'fake',
  main: FAKE,
  env: { ...inheritedEnvironment(process.env), BILLING_SERVER_PORT: '0', ...env },
  readyPath: '/health/ready',
});

describe(startProcess.name, () => {
  it('resolves once the process listens and answers its readiness path with 200', async () => {
    const sut = await startProcess(options({ FAKE_READY_AFTER_MS: '400' }));
    try {
      expect(sut.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await fetch(`${sut.url}/health/ready`)).status).toBe(200);
      expect(sut.running).toBe(true);
      expect(sut.output()).toContain('fake listening on');
    } finally {
      await sut.stop();
    }
  });

  it('rejects with the end of its output when it exits before it is ready', async () => {
    await expect(startProcess(options({ FAKE_EXIT_AT_START: '3' }))).rejects.toThrow(
      /^fake exited \(code 3, signal null\) before it was ready:\nconfiguration error: FAKE_EXIT_AT_START is set$/,
    );
  });

  it('kills it and rejects when it is not ready within the start timeout', async () => {
    // Long enough for a busy machine to start node and listen (300 ms was not, in CI); the
    // fake never becomes ready, so the timeout is what ends it.
    const sut = new LaunchedProcess({
      ...options({ FAKE_READY_AFTER_MS: '600000' }),
      startTimeoutMs: 3_000,
    });
    await expect(sut.ready).rejects.toThrow(
      /^fake listened on http:\S+ but was not ready within 3000 ms/,
    );
    expect(await sut.exited).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('refuses a script that is not built, naming it', () => {
    expect(() => new LaunchedProcess({ ...options(), main: '/nowhere/main.js' })).toThrow(
      '/nowhere/main.js is missing: build it first (npm run build)',
    );
  });

  it('hands every line to onLine and keeps only the last 200 without keepOutput', async () => {
    const lines: string[] = [];
    const sut = await startProcess({
      ...options(),
      keepOutput: false,
      onLine: (line) => lines.push(`${line.stream}: ${line.text}`),
    });
    await sut.stop();
    expect(lines).toEqual([
      expect.stringContaining('stdout: {"level":"info","service":"fake","msg":"a boot line'),
      expect.stringContaining('fake listening on http://127.0.0.1:'),
    ]);
    expect(sut.output().split('\n')).toHaveLength(3);
  });

  it('finds the address in a log file the process writes itself', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'launcher-spec-'));
    try {
      const logFile = join(folder, 'fake.log');
      const sut = await startProcess({ ...options(), logFile });
      await sut.stop();
      expect(readFileSync(logFile, 'utf8')).toContain(`listening on ${sut.url}`);
      expect(sut.output()).toContain(`(${logFile})`);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  describe('stop', () => {
    it('is graceful when SIGTERM ends the process', async () => {
      const sut = await startProcess(options());
      expect(await sut.stop()).toEqual({ code: 0, signal: null, graceful: true });
    });

    it('sends SIGKILL after the grace when SIGTERM is ignored', async () => {
      const sut = await startProcess({
        ...options({ FAKE_IGNORE_SIGTERM: '1' }),
        // Long enough for a busy machine to run the fake's SIGTERM handler (and say so).
        stopGraceMs: 2_000,
      });
      const started = Date.now();
      expect(await sut.stop()).toEqual({ code: null, signal: 'SIGKILL', graceful: false });
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
      expect(sut.output()).toContain('ignoring SIGTERM');
    });
  });
});
