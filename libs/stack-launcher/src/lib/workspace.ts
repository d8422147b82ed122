import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The monorepo's root folder (the one holding `nx.json`), from the source or the build. */
export function workspaceRoot(): string {
  let folder = __dirname;
  while (!existsSync(join(folder, 'nx.json'))) {
    const parent = dirname(folder);
    if (parent === folder) throw new Error(`nx.json not found above ${__dirname}`);
    folder = parent;
  }
  return folder;
}

/** The built entry point of an app, e.g. `<root>/dist/apps/billing-server/main.js`. */
export function builtServiceMain(app: string, root: string = workspaceRoot()): string {
  return join(root, 'dist', 'apps', app, 'main.js');
}
