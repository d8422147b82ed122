import { freePort, launchStack, type ServiceStack } from '@zt/stack-launcher';
import {
  inheritedProcessEnvironment,
  request,
  runningInCi,
  StackCredentials,
  workspaceRoot,
} from '@zt/test-kit';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The Prometheus binary, as Debian's package installs it (`apt-get install prometheus`). */
const PROMETHEUS = 'prometheus';

/** `prometheus --version`'s first line, or `undefined` when there is no binary to run. */
function prometheusVersion(): string | undefined {
  const result = spawnSync(PROMETHEUS, ['--version'], { encoding: 'utf8' });
  if (result.status !== 0) return undefined;
  return `${result.stdout}${result.stderr}`.split('\n')[0];
}

const version = prometheusVersion();
const inCi = runningInCi();
if (version === undefined && !inCi) {
  // One line in `npm test`'s output: the suite did not run (Jest reports it as skipped).
  process.stderr.write(
    '\nPrometheus suite NOT RUN: no `prometheus` on PATH. To run it: ' +
      'apt-get install -y --no-install-recommends prometheus (docs/prometheus.md).\n\n',
  );
}
const describeWithPrometheus = version === undefined && !inCi ? describe.skip : describe;

/** Where the shipped configurations put the stack and the secret files. */
const SHIPPED = {
  ports: { 'auth-server': 6001, 'billing-server': 6004, 'filesystem-server': 6002, backend: 8000 },
  metricsTokenFile: '/etc/prometheus/zt-stack/metrics-token',
  clientSecretFile: '/etc/prometheus/zt-stack/metrics-scraper-client-secret',
} as const;
type Service = keyof typeof SHIPPED.ports;
const SERVICES = Object.keys(SHIPPED.ports) as Service[];

interface Target {
  readonly labels: Record<string, string>;
  readonly scrapeUrl: string;
  readonly health: string;
  readonly lastError: string;
}

/**
 * Issue 14, item 3: the scrape configurations shipped in docs/prometheus/ as an operator uses
 * them, with Debian's own Prometheus (2.42, which cannot send custom headers): the four built
 * services on free ports, the shipped file with only the addresses, the secret files' paths
 * and the interval changed, and a real `prometheus` process scraping them. In `token` mode
 * with the metrics token (`authorization: credentials_file`), in `jwt` mode with the
 * `metrics-scraper` client's service tokens (its `oauth2` block). Every target must be up, and
 * Prometheus must answer a query over what it scraped.
 */
describeWithPrometheus.each([
  ['token', 'prometheus.yml'],
  ['jwt', 'prometheus-oauth2.yml'],
] as const)(
  'a real Prometheus scrapes the four services (INTERNAL_AUTH_MODE=%s, docs/prometheus/%s)',
  (mode, shippedFile) => {
    const credentials = new StackCredentials(mode);
    const scratch = mkdtempSync(join(tmpdir(), 'prometheus-e2e-'));
    let stack: ServiceStack;
    let prometheus: ChildProcess | undefined;
    let prometheusOutput = '';
    let prometheusUrl: string;

    beforeAll(async () => {
      if (version === undefined) {
        throw new Error(
          'CI must run the Prometheus suite, but there is no `prometheus` on PATH ' +
            '(.ci/run installs Debian’s package)',
        );
      }
      stack = await launchStack({
        env: {
          ...inheritedProcessEnvironment(),
          ...credentials.environment(),
          DATA_DIR: join(scratch, 'data'),
        },
        startTimeoutMs: 180_000,
      });

      // The secrets in files of their own, readable by this user only, as docs/prometheus.md says.
      const metricsTokenFile = join(scratch, 'metrics-token');
      const clientSecretFile = join(scratch, 'metrics-scraper-client-secret');
      writeFileSync(metricsTokenFile, credentials.metricsToken, { mode: 0o600 });
      writeFileSync(clientSecretFile, credentials.clients.secrets['metrics-scraper'] ?? '', {
        mode: 0o600,
      });
      let config = readFileSync(join(workspaceRoot(), 'docs', 'prometheus', shippedFile), 'utf8')
        .replaceAll(SHIPPED.metricsTokenFile, metricsTokenFile)
        .replaceAll(SHIPPED.clientSecretFile, clientSecretFile)
        .replace(/scrape_interval: \S+/, 'scrape_interval: 1s')
        .replace(/scrape_timeout: \S+/, 'scrape_timeout: 1s');
      for (const service of SERVICES) {
        const { host } = new URL(stack.process(service).url);
        config = config.replaceAll(`127.0.0.1:${SHIPPED.ports[service]}`, host);
      }
      const configFile = join(scratch, 'prometheus.yml');
      writeFileSync(configFile, config, { mode: 0o600 });

      const port = await freePort();
      prometheusUrl = `http://127.0.0.1:${port}`;
      prometheus = spawn(
        PROMETHEUS,
        [
          `--config.file=${configFile}`,
          `--storage.tsdb.path=${join(scratch, 'tsdb')}`,
          `--web.listen-address=127.0.0.1:${port}`,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'], env: inheritedProcessEnvironment() },
      );
      const keep = (chunk: Buffer) => (prometheusOutput += chunk.toString('utf8'));
      prometheus.stdout?.on('data', keep);
      prometheus.stderr?.on('data', keep);
      await waitFor('Prometheus to be ready', async () => {
        if (prometheus?.exitCode !== null) {
          throw new Error(`prometheus exited (${prometheus?.exitCode}): ${prometheusOutput}`);
        }
        return (await fetch(`${prometheusUrl}/-/ready`).catch(() => undefined))?.status === 200;
      });
    }, 300_000);

    afterAll(async () => {
      if (prometheus && prometheus.exitCode === null) {
        const exited = once(prometheus, 'exit');
        prometheus.kill('SIGTERM');
        await exited;
      }
      await stack?.stopAll();
      rmSync(scratch, { recursive: true, force: true });
    }, 60_000);

    it('runs Debian’s Prometheus, which reads its secrets from files of mode 0600', () => {
      expect(version).toMatch(/^prometheus, version 2\./);
      for (const file of ['metrics-token', 'metrics-scraper-client-secret']) {
        expect(statSync(join(scratch, file)).mode & 0o777).toBe(0o600);
      }
    });

    it('has every service as a target, each up', async () => {
      let targets: Target[] = [];
      await waitFor('every target up', async () => {
        const answer = await request(`${prometheusUrl}/api/v1/targets?state=active`);
        targets = (answer.body as { data: { activeTargets: Target[] } }).data.activeTargets;
        return targets.length === SERVICES.length && targets.every((t) => t.health === 'up');
      }).catch((error: unknown) => {
        // Say which target is down, and why (the last scrape's error), not only "timed out".
        const down = targets.map((t) => `${t.scrapeUrl}: ${t.health} ${t.lastError}`);
        throw new Error(`${String(error)}; targets: ${down.join('; ')}`);
      });
      expect(targets.map((target) => target.scrapeUrl).sort()).toEqual(
        SERVICES.map((service) => `${stack.process(service).url}/metrics`).sort(),
      );
    });

    it('answers a query over what it scraped: the series of every service', async () => {
      // Each service's own `service` label, on a series of the kit's guard.
      const query = 'count by (service) (internal_auth_denied_total)';
      let services: string[] = [];
      await waitFor('a series from every service', async () => {
        const answer = await request(
          `${prometheusUrl}/api/v1/query?query=${encodeURIComponent(query)}`,
        );
        const body = answer.body as {
          status: string;
          data: { result: Array<{ metric: Record<string, string> }> };
        };
        expect(body.status).toBe('success');
        services = body.data.result.map((series) => series.metric['service'] ?? '').sort();
        return services.length === SERVICES.length;
      });
      expect(services).toEqual([...SERVICES].sort());
    });

    if (mode === 'jwt') {
      it('got its service tokens from the auth server as the metrics-scraper (oauth_token_requests_total)', async () => {
        const query =
          'sum(oauth_token_requests_total{client_id="metrics-scraper",result="issued"})';
        let issued = 0;
        await waitFor('issued tokens counted', async () => {
          const answer = await request(
            `${prometheusUrl}/api/v1/query?query=${encodeURIComponent(query)}`,
          );
          const result = (answer.body as { data: { result: Array<{ value: [number, string] }> } })
            .data.result;
          issued = Number(result[0]?.value[1] ?? 0);
          // One token per audience, cached by Prometheus until it expires.
          return issued >= SERVICES.length;
        });
        expect(issued).toBeGreaterThanOrEqual(SERVICES.length);
      });
    }
  },
);

/** Polls `check` every 250 ms until it returns true; throws after `timeoutMs`. */
async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}
