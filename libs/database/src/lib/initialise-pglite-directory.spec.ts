import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initialisePgliteDirectory } from './initialise-pglite-directory';

const CONF = ['shared_buffers=16MB'];

describe(initialisePgliteDirectory.name, () => {
  const sut = initialisePgliteDirectory;
  let parent: string;
  let directory: string;

  beforeEach(() => {
    parent = mkdtempSync(join(tmpdir(), 'zt-initdb-'));
    directory = join(parent, 'pgdata');
  });

  afterEach(() => rmSync(parent, { recursive: true, force: true }));

  it('creates the database of a new folder in a child process, leaving nothing else', async () => {
    await sut(directory, CONF);

    // Nothing in this process opened PGlite, yet the folder holds an initialised cluster.
    expect(existsSync(join(directory, 'PG_VERSION'))).toBe(true);
    expect(readdirSync(parent)).toEqual(['pgdata']);
  });

  it('replaces an empty folder, as one made beforehand by hand or by an older version', async () => {
    mkdirSync(directory);

    await sut(directory, CONF);

    expect(existsSync(join(directory, 'PG_VERSION'))).toBe(true);
  });

  it('lets two processes race to create one folder: both end up with the same database', async () => {
    await Promise.all([sut(directory, CONF), sut(directory, CONF)]);

    expect(existsSync(join(directory, 'PG_VERSION'))).toBe(true);
    expect(readdirSync(parent)).toEqual(['pgdata']);
  }, 90_000);

  it('leaves a folder that already holds a database alone', async () => {
    await sut(directory, CONF);
    writeFileSync(join(directory, 'marker'), 'kept');

    await sut(directory, CONF);

    expect(readdirSync(directory)).toContain('marker');
  });

  it('fails with initdb’s own error, and leaves no folder that would pass for a database', async () => {
    // PostgreSQL rejects this setting only when it starts, after initdb wrote PG_VERSION.
    await expect(sut(directory, ['shared_buffers=nonsense'])).rejects.toThrow(
      /pgdata: initdb exited with code 1:\n[\s\S]*PGlite failed to initialize/,
    );

    expect(readdirSync(parent)).toEqual([]);
  });
});
