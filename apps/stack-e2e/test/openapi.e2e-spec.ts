import { workspaceRoot } from '@zt/test-kit';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SCRIPT_ENVIRONMENT, scriptArguments } from './npm-start-stack';

const SERVICES = ['auth-server', 'backend', 'billing-server', 'filesystem-server'];

/**
 * The CI check of docs/api: the committed OpenAPI documents are what the built services
 * describe now. When it fails, run `npm run openapi` and commit docs/api.
 */
describe('docs/api (npm run openapi)', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'openapi-e2e-'));
  const committed = join(workspaceRoot(), 'docs', 'api');

  beforeAll(async () => {
    // The services are built before this suite runs (stack-e2e depends on their build).
    await promisify(execFile)(
      process.execPath,
      scriptArguments('openapi.ts', ['--no-build', '--out', scratch]),
      { cwd: workspaceRoot(), timeout: 180_000 },
    );
  });

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('holds one document per service, and nothing else', () => {
    expect(readdirSync(scratch).sort()).toEqual(SERVICES.map((name) => `${name}.json`));
    expect(readdirSync(committed).sort()).toEqual(SERVICES.map((name) => `${name}.json`));
  });

  it.each(SERVICES)('has the current document of %s (else: npm run openapi)', (service) => {
    const fresh = readFileSync(join(scratch, `${service}.json`), 'utf8');
    const stored = readFileSync(join(committed, `${service}.json`), 'utf8');
    expect({ service, upToDate: stored === fresh }).toEqual({ service, upToDate: true });
  });

  it('has the current docs/policy.md, made from these documents (else: npm run policy)', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'policy-e2e-'));
    const fresh = join(folder, 'policy.md');
    // The policy script reads libs/contracts from source: tsx maps @zt/* by the base tsconfig.
    await promisify(execFile)(
      process.execPath,
      scriptArguments('policy.ts', ['--api', scratch, '--out', fresh]),
      {
        cwd: workspaceRoot(),
        timeout: 60_000,
        env: { ...process.env, ...SCRIPT_ENVIRONMENT },
      },
    );
    const policy = readFileSync(fresh, 'utf8');
    rmSync(folder, { recursive: true, force: true });
    expect(policy === readFileSync(join(workspaceRoot(), 'docs', 'policy.md'), 'utf8')).toBe(true);
    // The reference policy of DESIGN section 9, as the table reads it.
    const row = (route: string) =>
      policy.split('\n').find((line) => line.startsWith(`| \`${route}\``));
    expect(row('POST /deduct')).toMatch(/\| - +\| allowed +\| - +\| - +\| - +\| - +\|$/);
    expect(row('POST /account')).toMatch(/\| allowed +\| - +\| - +\| - +\| - +\| - +\|$/);
    expect(row('PUT /files/{path}')).toMatch(/\| - +\| allowed +\| - +\| - +\| - +\| - +\|$/);
  });

  it('describes who may call what: public, internal credential, scrape credential, or user token', () => {
    const read = (service: string) =>
      JSON.parse(readFileSync(join(committed, `${service}.json`), 'utf8')) as {
        paths: Record<string, Record<string, { security?: unknown[] }>>;
      };
    expect(read('billing-server').paths['/deduct']['post'].security).toEqual([
      { 'internal-token': [] },
    ]);
    expect(read('auth-server').paths['/login']['post'].security).toEqual([]);
    expect(read('backend').paths['/me']['get'].security).toEqual([{ bearer: [] }]);
    // The read-only scrape credential as a bearer, never the shared token (docs/prometheus.md).
    expect(read('backend').paths['/metrics']['get'].security).toEqual([{ 'metrics-token': [] }]);
    expect(read('filesystem-server').paths['/health/ready']['get'].security).toEqual([]);
  });
});
