import { workspaceRoot } from '@zt/test-kit';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { scriptArguments } from './npm-start-stack';

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

  it('describes who may call what: public, internal credential, or user token', () => {
    const read = (service: string) =>
      JSON.parse(readFileSync(join(committed, `${service}.json`), 'utf8')) as {
        paths: Record<string, Record<string, { security?: unknown[] }>>;
      };
    expect(read('billing-server').paths['/deduct']['post'].security).toEqual([
      { 'internal-token': [] },
    ]);
    expect(read('auth-server').paths['/login']['post'].security).toEqual([]);
    expect(read('backend').paths['/me']['get'].security).toEqual([{ bearer: [] }]);
    expect(read('backend').paths['/metrics']['get'].security).toEqual([{ 'internal-token': [] }]);
    expect(read('filesystem-server').paths['/health/ready']['get'].security).toEqual([]);
  });
});
