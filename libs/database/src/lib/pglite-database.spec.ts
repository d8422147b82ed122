import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PgliteDatabase } from './pglite-database';

describe(PgliteDatabase.name, () => {
  let parent: string;

  beforeEach(() => {
    parent = mkdtempSync(join(tmpdir(), 'zt-pglite-'));
  });

  afterEach(() => rmSync(parent, { recursive: true, force: true }));

  it('opens a new folder and keeps its data across close and reopen', async () => {
    const directory = join(parent, 'service', 'pgdata');
    const first = await PgliteDatabase.open(directory, 'spec');
    await first.exec("CREATE TABLE notes (body text); INSERT INTO notes VALUES ('kept')");
    await first.close();

    const sut = await PgliteDatabase.open(directory, 'spec');
    try {
      expect((await sut.query('SELECT body FROM notes')).rows).toEqual([{ body: 'kept' }]);
      expect((await sut.query('SHOW shared_buffers')).rows).toEqual([{ shared_buffers: '16MB' }]);
    } finally {
      await sut.close();
    }
  });

  it('opens a data folder behind a symlink (a volume), and keeps its data there', async () => {
    const volume = join(parent, 'volume');
    mkdirSync(volume);
    const directory = join(parent, 'pgdata');
    symlinkSync(volume, directory);
    const first = await PgliteDatabase.open(directory, 'spec');
    await first.exec("CREATE TABLE notes (body text); INSERT INTO notes VALUES ('on the volume')");
    await first.close();

    const sut = await PgliteDatabase.open(directory, 'spec');
    try {
      expect((await sut.query('SELECT body FROM notes')).rows).toEqual([{ body: 'on the volume' }]);
      expect(existsSync(join(volume, 'PG_VERSION'))).toBe(true);
    } finally {
      await sut.close();
    }
  });

  it('fails clearly when the folder cannot be created, and creates nothing', async () => {
    writeFileSync(join(parent, 'a-file'), '');
    const directory = join(parent, 'a-file', 'pgdata');

    await expect(PgliteDatabase.open(directory, 'spec')).rejects.toThrow(
      /a-file\/pgdata: initdb exited with code 1:\n[\s\S]*ENOTDIR/,
    );
    expect(existsSync(directory)).toBe(false);
  });
});
