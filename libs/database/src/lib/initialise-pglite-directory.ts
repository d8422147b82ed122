import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

// initdb has taken ~3 s here; a child that has not finished long after that is stuck, and a
// service that waits for it forever never reports why it does not start.
const INITDB_TIMEOUT_MS = 120_000;
const STDERR_TAIL_CHARS = 4_000;

// The child's program. Passed with `-e` rather than as a file: a service is one webpack bundle
// with no source files beside it. PGlite is resolved from the folder of the parent's code
// (argv[1]: `__dirname`, which the services' webpack config leaves as the bundle's real folder),
// where the parent's own `require` of it looks too, so the child's working directory does not
// matter. CommonJS, so it loads PGlite's `require` build, as the bundle does.
const INITDB_PROGRAM = `
const [codeDir, dataDir, conf] = process.argv.slice(1);
// Only this service's user may read the database: PGlite writes its files readable by all.
require('node:fs').mkdirSync(dataDir, { recursive: true, mode: 0o700 });
const { PGlite } = require(require.resolve('@electric-sql/pglite', { paths: [codeDir] }));
PGlite.create(dataDir, { postgresqlconf: JSON.parse(conf) })
  .then((db) => db.close())
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
`;

/**
 * Makes `directory` hold a PGlite database, unless it already does (has a `PG_VERSION`).
 *
 * Why a child process: PGlite runs initdb in a WebAssembly instance of its own whose memory
 * stays resident in the process that ran it, since an idle service never has the major GC
 * that would return it (measured, a fresh process after open and one query: 650-740 MiB with
 * initdb in it, 190 MiB without). Run elsewhere, that memory goes away with the child, and the
 * caller opens the folder as it would after a restart.
 *
 * Why a scratch sibling folder when `directory` does not exist yet: initdb writes
 * `PG_VERSION` early, so a folder it failed in would look like a database next time. The
 * child works in a scratch folder (mode 0700) that is renamed into place only after it
 * succeeded (a rename is atomic). When two processes race, the second rename finds the
 * first one's database and uses it. Scratch folders left by a process that died meanwhile
 * are removed. A `directory` that exists already (made by an operator: a symlink, a mount
 * point, a folder with its own mode) is initialised in place and kept as it is; there, a
 * failed initdb leaves what it wrote, and the operator empties the folder before a retry.
 *
 * @param postgresqlconf the same settings the database will be opened with.
 * @throws when the child fails, with the end of what it wrote to stderr.
 */
export async function initialisePgliteDirectory(
  directory: string,
  postgresqlconf: readonly string[],
): Promise<void> {
  if (hasDatabase(directory)) return;
  // PGlite's file system cannot follow a symlink itself: it is given the real path.
  if (existsSync(directory)) return runInitdb(realpathSync(directory), postgresqlconf, directory);

  const prefix = `.${basename(directory)}.initdb-`;
  removeAbandonedScratch(dirname(directory), prefix);
  const scratch = join(
    dirname(directory),
    `${prefix}${process.pid}-${randomBytes(4).toString('hex')}`,
  );
  try {
    await runInitdb(scratch, postgresqlconf, directory);
    try {
      renameSync(scratch, directory);
    } catch (error) {
      if (!hasDatabase(directory)) {
        throw new Error(`Cannot move the new embedded database into ${directory}`, {
          cause: error,
        });
      }
    }
  } finally {
    // existsSync first: under a path that cannot exist (ENOTDIR), rmSync would throw and hide
    // the child's error.
    if (existsSync(scratch)) rmSync(scratch, { recursive: true, force: true });
  }
}

/** Removes the scratch folders in `parent` of processes that are no longer running. */
function removeAbandonedScratch(parent: string, prefix: string): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return; // No folder there (yet): nothing to clean, and the child will say what is wrong.
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (Number.isSafeInteger(pid) && pid > 0 && !isRunning(pid)) {
      rmSync(join(parent, name), { recursive: true, force: true });
    }
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function hasDatabase(directory: string): boolean {
  return existsSync(join(directory, 'PG_VERSION'));
}

function runInitdb(
  dataDir: string,
  postgresqlconf: readonly string[],
  directory: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['-e', INITDB_PROGRAM, __dirname, dataDir, JSON.stringify(postgresqlconf)],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: INITDB_TIMEOUT_MS,
        // Not the service's environment: no credential, no NODE_OPTIONS preloads. The child
        // needs none: it is started by its absolute path and loads PGlite by its path.
        env: {},
      },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const how = signal
        ? `was killed by ${signal} (it has ${INITDB_TIMEOUT_MS / 1000} s)`
        : `exited with code ${code}`;
      reject(new Error(`Creating the embedded database ${directory}: initdb ${how}:\n${stderr}`));
    });
  });
}
