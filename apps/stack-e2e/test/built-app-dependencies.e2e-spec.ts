import {
  generateToken,
  npmProcessEnvironment,
  startServiceProcess,
  workspaceRoot,
} from '@zt/test-kit';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const APPS = ['billing-server', 'auth-server', 'filesystem-server', 'backend'] as const;

/**
 * The container image of an app installs only the package.json its build generates, without
 * dev dependencies (Dockerfile). A package that the bundle needs but that file does not list
 * is there on a developer's machine (the workspace's node_modules) and missing in the image,
 * where the service dies at start: that is how `pino-pretty` broke every container. So each
 * built app is installed here exactly as the image does, in a folder with no node_modules
 * above it, and started from there.
 */
describe('built apps run from their own package.json, without dev dependencies', () => {
  const scratches: string[] = [];
  afterAll(() => scratches.forEach((folder) => rmSync(folder, { recursive: true, force: true })));

  it.each(APPS)('%s lists every package its bundle requires', (app) => {
    const dist = join(workspaceRoot(), 'dist', 'apps', app);
    const listed = Object.keys(readPackageJson(dist).dependencies ?? {});
    const required = requiredPackages(readFileSync(join(dist, 'main.js'), 'utf8'));

    expect(required.length).toBeGreaterThan(5);
    expect(required.filter((name) => !listed.includes(name))).toEqual([]);
  });

  it.each(APPS)(
    '%s starts and answers /health/live after `npm install --omit=dev`',
    async (app) => {
      const folder = mkdtempSync(join(tmpdir(), `runtime-${app}-`));
      scratches.push(folder);
      expect(nodeModulesAbove(folder)).toEqual([]);
      const dist = join(workspaceRoot(), 'dist', 'apps', app);
      for (const file of ['main.js', 'package.json', 'package-lock.json']) {
        copyFileSync(join(dist, file), join(folder, file));
      }
      const install = ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'];
      await promisify(execFile)('npm', install, {
        cwd: folder,
        env: { ...npmProcessEnvironment(), NODE_ENV: 'production' },
        timeout: 180_000,
      });

      const service = await startServiceProcess({
        main: join(folder, 'main.js'),
        env: {
          NODE_ENV: 'production',
          LOG_FORMAT: 'json',
          INTERNAL_SERVICE_TOKEN: generateToken(),
          DATA_DIR: join(folder, 'data'),
          // Every service reads its own port variable; port 0 picks a free one.
          BILLING_SERVER_PORT: '0',
          AUTH_SERVER_PORT: '0',
          FILESYSTEM_SERVER_PORT: '0',
          BACKEND_PORT: '0',
        },
      });
      try {
        const response = await fetch(`${service.url}/health/live`);
        expect(response.status).toBe(200);
        expect(service.output()).not.toMatch(/Cannot find module/);
      } finally {
        await service.stop();
      }
    },
    240_000,
  );
});

function readPackageJson(folder: string): { dependencies?: Record<string, string> } {
  return JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
}

/** The packages a webpack bundle loads at run time: its externals, by package name. */
function requiredPackages(bundle: string): string[] {
  const builtins = new Set(builtinModules);
  const names = new Set<string>();
  for (const [, specifier] of bundle.matchAll(/require\(\s*["']([^"'./][^"']*)["']\s*[,)]/g)) {
    const name = specifier.startsWith('@')
      ? specifier.split('/').slice(0, 2).join('/')
      : specifier.split('/')[0];
    if (!specifier.startsWith('node:') && !builtins.has(name)) names.add(name);
  }
  return [...names].sort();
}

/** node_modules folders that Node would search above `folder` (none may help the test pass). */
function nodeModulesAbove(folder: string): string[] {
  const found: string[] = [];
  for (let current = dirname(folder); ; current = dirname(current)) {
    if (existsSync(join(current, 'node_modules'))) found.push(join(current, 'node_modules'));
    if (dirname(current) === current) return found;
  }
}
