import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
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

  it('initialises a folder that exists already in place, keeping its mode', async () => {
    mkdirSync(directory, { mode: 0o750 });

    await sut(directory, CONF);

    expect(existsSync(join(directory, 'PG_VERSION'))).toBe(true);
    expect(statSync(directory).mode & 0o777).toBe(0o750);
  });

  it('initialises the folder behind a symlink, and keeps the symlink', async () => {
    const real = join(parent, 'volume');
    mkdirSync(real);
    symlinkSync(real, directory);

    await sut(directory, CONF);

    expect(lstatSync(directory).isSymbolicLink()).toBe(true);
    expect(existsSync(join(real, 'PG_VERSION'))).toBe(true);
  });

  it('creates a new folder readable by its owner only', async () => {
    await sut(directory, CONF);

    expect(statSync(directory).mode & 0o777).toBe(0o700);
  });

  it('removes the scratch folders of processes that died, not those of running ones', async () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid as number;
    const abandoned = join(parent, `.pgdata.initdb-${dead}-0badf00d`);
    const running = join(parent, `.pgdata.initdb-${process.pid}-0000beef`);
    mkdirSync(abandoned);
    mkdirSync(running);

    await sut(directory, CONF);

    expect(readdirSync(parent).sort()).toEqual([
      '.pgdata.initdb-' + process.pid + '-0000beef',
      'pgdata',
    ]);
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
