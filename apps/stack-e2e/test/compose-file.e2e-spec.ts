import { workspaceRoot } from '@zt/test-kit';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const hasCompose = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0;

/**
 * The compose file as docker-compose reads it (`config`), without an engine: its services,
 * health checks and required secrets. compose-stack.e2e-spec.ts runs it for real. CI installs
 * docker-compose and must run this; a machine without it reports the test as skipped, never
 * as passed.
 */
describe('docker-compose.yml', () => {
  if (!hasCompose && process.env['CI'] === 'true') {
    it('needs docker-compose in CI', () => {
      throw new Error('docker-compose is not installed: .ci/run installs it');
    });
  }
  const itWithCompose = hasCompose ? it : it.skip;

  itWithCompose('is valid, and runs PostgreSQL and the four services with health checks', () => {
    const config = execFileSync(
      'docker-compose',
      [
        '-f',
        join(workspaceRoot(), 'docker-compose.yml'),
        '--env-file',
        join(workspaceRoot(), '.env.example'),
        'config',
      ],
      { encoding: 'utf8' },
    );
    for (const service of [
      'postgres',
      'billing-server',
      'auth-server',
      'filesystem-server',
      'backend',
    ]) {
      expect(config).toMatch(new RegExp(`\\n  ${service}:\\n`));
    }
    expect(config.match(/healthcheck:/g)).toHaveLength(5);
    expect(config.match(/condition: service_healthy/g)?.length).toBeGreaterThanOrEqual(6);
  });

  itWithCompose(
    'passes INTERNAL_AUTH_MODE and METRICS_TOKEN to every service, every client secret to the auth server, and to the backend and billing their own only',
    () => {
      const envFile = join(mkdtempSync(join(tmpdir(), 'compose-')), '.env');
      const secret = (name: string) => `${name.toLowerCase().replaceAll('_', '-')}-value`;
      const secrets = [
        'AUTH_SERVER_CLIENT_SECRET',
        'BACKEND_CLIENT_SECRET',
        'BILLING_SERVER_CLIENT_SECRET',
        'FILESYSTEM_SERVER_CLIENT_SECRET',
        'METRICS_SCRAPER_CLIENT_SECRET',
        'OPERATOR_CLIENT_SECRET',
      ];
      writeFileSync(
        envFile,
        [
          'INTERNAL_SERVICE_TOKEN=shared-token-value',
          'POSTGRES_PASSWORD=database-password-value',
          'METRICS_TOKEN=metrics-token-value',
          'INTERNAL_AUTH_MODE=token+jwt',
          ...secrets.map((name) => `${name}=${secret(name)}`),
        ].join('\n'),
      );
      const config = execFileSync(
        'docker-compose',
        ['-f', join(workspaceRoot(), 'docker-compose.yml'), '--env-file', envFile, 'config'],
        { encoding: 'utf8', env: { PATH: process.env['PATH'] } },
      );
      // Each service's block, up to the next service.
      const block = (service: string) =>
        config.split(new RegExp(`\\n  ${service}:\\n`))[1]?.split(/\n {2}[a-z-]+:\n/)[0] ?? '';
      for (const service of ['billing-server', 'auth-server', 'filesystem-server', 'backend']) {
        expect(block(service)).toMatch(/INTERNAL_AUTH_MODE: token\+jwt/);
        expect(block(service)).toMatch(/METRICS_TOKEN: metrics-token-value/);
      }
      for (const name of secrets) expect(block('auth-server')).toContain(secret(name));
      // The backend calls others with its own secret; billing introspects with its own.
      for (const [service, own] of [
        ['backend', 'BACKEND_CLIENT_SECRET'],
        ['billing-server', 'BILLING_SERVER_CLIENT_SECRET'],
      ]) {
        for (const name of secrets) {
          if (name === own) expect(block(service)).toContain(secret(name));
          else expect(block(service)).not.toContain(secret(name));
        }
      }
      expect(block('billing-server')).toMatch(/INTERNAL_AUTH_INTROSPECTION: ["']?off["']?\n/);
      expect(block('filesystem-server')).not.toMatch(/CLIENT_SECRET/);
    },
  );

  itWithCompose('refuses to start without the secrets', () => {
    const envFile = join(mkdtempSync(join(tmpdir(), 'compose-')), '.env');
    // Everything but the internal token.
    writeFileSync(envFile, 'POSTGRES_PASSWORD=only-the-database-password-is-set\n');
    const result = spawnSync(
      'docker-compose',
      ['-f', join(workspaceRoot(), 'docker-compose.yml'), '--env-file', envFile, 'config', '-q'],
      { encoding: 'utf8', env: { PATH: process.env['PATH'] } },
    );
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('set INTERNAL_SERVICE_TOKEN in .env');
  });
});
