// `npm run openapi`: writes the OpenAPI document of every service to docs/api/<service>.json.
// Each built service describes itself (`main.js --write-openapi=<file>`): its modules are
// built without listening, on an in-memory database and a scratch data folder, with a
// throwaway internal token; nothing of a running stack or of .env is read or touched.
//
//   npm run openapi                      build (cached), then write docs/api/*.json
//   npx tsx scripts/openapi.ts --out DIR  write into DIR instead (the CI check compares)
//   npx tsx scripts/openapi.ts --no-build use dist/ as it is
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { shellEnvironment } from './config/environment';
import { buildServices, loadLauncher, ROOT, runMain } from './stack';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const outIndex = args.indexOf('--out');
  const outDir = outIndex === -1 ? join(ROOT, 'docs', 'api') : resolve(args[outIndex + 1] ?? '');
  const build = !args.includes('--no-build');

  if (build) buildServices();
  const { builtServiceMain, SERVICE_NAMES } = await loadLauncher();

  mkdirSync(outDir, { recursive: true });
  const scratch = mkdtempSync(join(tmpdir(), 'openapi-'));
  try {
    for (const name of SERVICE_NAMES) {
      const file = join(outDir, `${name}.json`);
      execFileSync(
        process.execPath,
        [builtServiceMain(name, { root: ROOT }), `--write-openapi=${file}`],
        {
          cwd: ROOT,
          stdio: ['ignore', 'ignore', 'inherit'],
          timeout: 120_000,
          // Only what describing the routes needs: no DATABASE_URL, no real token.
          env: {
            PATH: shellEnvironment.PATH,
            INTERNAL_SERVICE_TOKEN: randomBytes(32).toString('base64url'),
            DATA_DIR: join(scratch, 'data'),
            LOG_LEVEL: 'silent',
            // The services read .env themselves: not here.
            ENV_FILE: '/dev/null',
          },
        },
      );
      console.log(`[openapi] ${name} -> ${file}`);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

runMain(main);
