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

/**
 * The built entry point of an app, e.g. `<root>/dist/apps/billing-server/main.js`, or of an
 * adoption example with `folder: 'examples'` (`dist/examples/trust-kit-adopter/main.js`).
 * @throws Error naming the build to run when it is missing.
 */
export function builtServiceMain(
  app: string,
  { folder = 'apps', root = workspaceRoot() }: { folder?: 'apps' | 'examples'; root?: string } = {},
): string {
  const main = join(root, 'dist', folder, app, 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: build it first (nx build ${app})`);
  return main;
}
