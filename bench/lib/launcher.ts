// The stack launcher (libs/stack-launcher) from its build, and the build itself: the bench
// starts built services as `npm start` does. scripts/stack.ts does the same for the scripts;
// the bench keeps its own copy: a project may not import another by relative path (lint).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runnerEnvironment } from '../config/runner.config';

/** The launcher's exports; only types come from the source, the code from dist/. */
export type Launcher = typeof import('@zt/stack-launcher');

export const ROOT = join(__dirname, '..', '..');

/**
 * Builds the four services (the projects tagged `type:app`), the launcher and the `projects`
 * named; Nx caches what did not change. Build errors are shown.
 */
export function buildServices(projects: readonly string[] = []): void {
  execFileSync(
    'npx',
    [
      'nx',
      'run-many',
      '-t',
      'build',
      '-p',
      'tag:type:app',
      'stack-launcher',
      ...projects,
      '--output-style=static',
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...runnerEnvironment(), NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
    },
  );
}

let loaded: Promise<Launcher> | undefined;

/** The launcher as {@link buildServices} builds it into dist/ (load it after the build). */
export function loadLauncher(): Promise<Launcher> {
  loaded ??= (async () => {
    const entry = join(ROOT, 'dist', 'libs', 'stack-launcher', 'index.js');
    if (!existsSync(entry)) {
      throw new Error(`${entry} is missing: build it first (npm run build)`);
    }
    return (await import(pathToFileURL(entry).href)) as Launcher;
  })();
  return loaded;
}
