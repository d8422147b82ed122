import { Logger } from '@nestjs/common';
import { HttpError } from '@zt/service-chassis';
import { createHash } from 'node:crypto';
import {
  promises as fsPromises,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { parseFilePath } from '@zt/contracts';
import { type FilesOptions, UPLOADS_FOLDER, WRITES_FOLDER } from './files.constants';
import { FilesService } from './files.service';
import type { IntentRecord, WriteRecord } from './write-journal';

const MAX_FILE = 1024;
const MAX_USER = 2048;
const DAY_MS = 24 * 60 * 60 * 1000;
const REUSED = { status: 409, body: { error: 'write id used for a different write' } };
const ABORTED = { status: 409, body: { error: 'write aborted' } };

async function failure(promise: Promise<unknown>): Promise<{ status: number; body: unknown }> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(HttpError);
    return { status: (error as HttpError).getStatus(), body: (error as HttpError).getResponse() };
  }
  throw new Error('expected an HttpError');
}

/** A body that records whether anyone read it. */
function untouchedBody(): Readable & { wasRead: boolean } {
  const body = new Readable({
    read() {
      body.wasRead = true;
      this.push(Buffer.from('x'));
      this.push(null);
    },
  }) as Readable & { wasRead: boolean };
  body.wasRead = false;
  return body;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const path = (encoded: string) => parseFilePath(encoded);
const body = (text: string) => Readable.from([Buffer.from(text)]);

describe(`${FilesService.name} with a write id (the write journal)`, () => {
  let root: string;
  let dataDir: string;
  let options: FilesOptions;
  let sut: FilesService;
  const services: FilesService[] = [];

  const userFile = (user: string, ...segments: string[]) => join(dataDir, user, ...segments);
  const journalFile = (user: string, writeId: string) =>
    join(dataDir, WRITES_FOLDER, user, `${writeId}.json`);
  const stored = (user: string, writeId: string): unknown =>
    JSON.parse(readFileSync(journalFile(user, writeId), 'utf8'));
  const plant = (user: string, record: WriteRecord) => {
    mkdirSync(join(dataDir, WRITES_FOLDER, user), { recursive: true });
    writeFileSync(journalFile(user, record.write_id), JSON.stringify(record));
  };
  /** A new service on the same data folder, started as after a crash or restart. */
  const restart = async () => {
    sut.onModuleDestroy();
    sut = new FilesService(options);
    services.push(sut);
    await sut.onModuleInit();
  };
  const intent = (writeId: string, filePath: string, inode: string): IntentRecord => ({
    write_id: writeId,
    outcome: 'intent',
    path: filePath,
    size: 5,
    sha256: sha256('hello'),
    created: true,
    inode,
    at: new Date().toISOString(),
  });

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'journaled-writes-'));
    dataDir = join(root, 'filesystem-server');
    options = {
      dataDir,
      maxFileBytes: MAX_FILE,
      maxUserBytes: MAX_USER,
      maxUserEntries: 100,
      maxPathDepth: 5,
      writeJournalDays: 30,
    };
    sut = new FilesService(options);
    services.push(sut);
    await sut.onModuleInit();
  });

  afterEach(() => {
    jest.restoreAllMocks();
    for (const service of services.splice(0)) service.onModuleDestroy();
    rmSync(root, { recursive: true, force: true });
  });

  describe('write', () => {
    it('journals the write as applied: path, size, sha256 and the stored file inode', async () => {
      expect(await sut.write('alice', path('a/b.txt'), body('hello'), 5, 'w1')).toEqual({
        created: true,
        size: 5,
        replayed: false,
      });
      expect(readFileSync(userFile('alice', 'a', 'b.txt'), 'utf8')).toBe('hello');
      expect(stored('alice', 'w1')).toEqual({
        write_id: 'w1',
        outcome: 'applied',
        path: 'a/b.txt',
        size: 5,
        sha256: sha256('hello'),
        created: true,
        inode: String(statSync(userFile('alice', 'a', 'b.txt')).ino),
        at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
    });

    it('answers a repeat (same id, path and bytes) as the first time, storing nothing', async () => {
      await sut.write('alice', path('a.txt'), body('hello'), 5, 'w1');
      // Replaced since: a replay must not bring the old bytes back.
      await sut.write('alice', path('a.txt'), body('later'), 5);
      expect(await sut.write('alice', path('a.txt'), body('hello'), undefined, 'w1')).toEqual({
        created: true,
        size: 5,
        replayed: true,
      });
      expect(readFileSync(userFile('alice', 'a.txt'), 'utf8')).toBe('later');
      expect(readdirSync(join(dataDir, UPLOADS_FOLDER))).toEqual([]);
    });

    it('replays a replacement as a replacement (200)', async () => {
      await sut.write('alice', path('a.txt'), body('first'), 5);
      expect(await sut.write('alice', path('a.txt'), body('hello'), 5, 'w1')).toMatchObject({
        created: false,
      });
      expect(await sut.write('alice', path('a.txt'), body('hello'), 5, 'w1')).toEqual({
        created: false,
        size: 5,
        replayed: true,
      });
    });

    it('replays without a quota check: the first write may have filled the quota', async () => {
      const full = 'x'.repeat(MAX_FILE);
      await sut.write('alice', path('one'), body(full), MAX_FILE);
      await sut.write('alice', path('two'), body(full), MAX_FILE, 'w1');
      expect(await sut.write('alice', path('two'), body(full), MAX_FILE, 'w1')).toMatchObject({
        replayed: true,
      });
    });

    it.each([
      ['other bytes', 'a.txt', 'HELLO'],
      ['more bytes', 'a.txt', 'hello!'],
      ['fewer bytes', 'a.txt', 'hell'],
      ['another path', 'b.txt', 'hello'],
    ])('refuses a repeat with %s (409), storing nothing', async (_label, target, text) => {
      await sut.write('alice', path('a.txt'), body('hello'), 5, 'w1');
      expect(await failure(sut.write('alice', path(target), body(text), undefined, 'w1'))).toEqual(
        REUSED,
      );
      expect(readFileSync(userFile('alice', 'a.txt'), 'utf8')).toBe('hello');
      expect(existsSync(userFile('alice', 'b.txt'))).toBe(false);
      expect(stored('alice', 'w1')).toMatchObject({ outcome: 'applied', path: 'a.txt', size: 5 });
    });

    it('refuses a repeat larger than the file limit with 413', async () => {
      await sut.write('alice', path('a.txt'), body('hello'), 5, 'w1');
      expect(
        (
          await failure(
            sut.write('alice', path('a.txt'), body('y'.repeat(MAX_FILE + 1)), undefined, 'w1'),
          )
        ).status,
      ).toBe(413);
    });

    it('refuses a write id that was aborted (409), without reading the body', async () => {
      await sut.resolveWrite('alice', 'w1');
      const unread = untouchedBody();
      expect(await failure(sut.write('alice', path('a.txt'), unread, 1, 'w1'))).toEqual(ABORTED);
      expect(unread.wasRead).toBe(false);
      expect(existsSync(userFile('alice'))).toBe(false);
    });

    it('journals nothing for a refusal before the upload is complete', async () => {
      await sut.write('alice', path('file'), body('x'), 1);
      const refusals = [
        sut.write('alice', path('big'), body('x'), MAX_FILE + 1, 'w1'),
        sut.write('alice', path('file/under'), body('x'), 1, 'w1'),
        sut.write('alice', path('a/b/c/d/e/f'), body('x'), 1, 'w1'),
        sut.write('alice', path('streamed'), body('y'.repeat(MAX_FILE + 1)), undefined, 'w1'),
      ];
      expect((await Promise.all(refusals.map(failure))).map((r) => r.status)).toEqual([
        413, 409, 400, 413,
      ]);
      expect(await sut.listWrites('alice', undefined, 10)).toEqual({
        records: [],
        nextAfter: null,
      });
      // The id is still free for the real write.
      expect(await sut.write('alice', path('ok'), body('x'), 1, 'w1')).toMatchObject({
        created: true,
        replayed: false,
      });
    });

    it('journals nothing without a write id', async () => {
      await sut.write('alice', path('a.txt'), body('hello'), 5);
      expect(readdirSync(join(dataDir, WRITES_FOLDER))).toEqual([]);
    });

    it('keeps the journal out of the user files, listing and quota', async () => {
      const full = 'x'.repeat(MAX_FILE);
      await sut.write('alice', path('one'), body(full), MAX_FILE, 'w1');
      await sut.write('alice', path('two'), body(full), MAX_FILE, 'w2');
      expect(await sut.list('alice')).toEqual([
        { path: 'one', size: MAX_FILE },
        { path: 'two', size: MAX_FILE },
      ]);
      // A fresh service measures the user folder again: still exactly full, not over.
      await restart();
      expect(await sut.write('alice', path('two'), body(full), MAX_FILE, 'w3')).toMatchObject({
        created: false,
      });
    });

    it('records aborted when the write fails between intent and rename, and removes the upload', async () => {
      const target = userFile('alice', 'a.txt');
      failRenames((_from, to) => to === target);
      await expect(sut.write('alice', path('a.txt'), body('hello'), 5, 'w1')).rejects.toThrow(
        'simulated',
      );
      expect(stored('alice', 'w1')).toMatchObject({
        outcome: 'aborted',
        path: 'a.txt',
        size: 5,
        sha256: sha256('hello'),
      });
      expect(existsSync(target)).toBe(false);
      expect(readdirSync(join(dataDir, UPLOADS_FOLDER))).toEqual([]);
      jest.restoreAllMocks();
      expect(await sut.resolveWrite('alice', 'w1')).toMatchObject({ outcome: 'aborted' });
      expect(await failure(sut.write('alice', path('a.txt'), body('hello'), 5, 'w1'))).toEqual(
        ABORTED,
      );
    });

    it('keeps the upload when even the abort cannot be recorded; the intent settles as aborted', async () => {
      const target = userFile('alice', 'a.txt');
      const record = journalFile('alice', 'w1');
      let recordRenames = 0;
      const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      failRenames((_from, to) => to === target || (to === record && ++recordRenames > 1));
      await expect(sut.write('alice', path('a.txt'), body('hello'), 5, 'w1')).rejects.toThrow(
        'simulated',
      );
      expect(logged).toHaveBeenCalledWith(
        'could not record a failed write as aborted: EIO: simulated failure',
      );
      expect(stored('alice', 'w1')).toMatchObject({ outcome: 'intent' });
      // Its inode stays taken, so the inode check that settles the intent cannot be fooled.
      expect(readdirSync(join(dataDir, UPLOADS_FOLDER))).toHaveLength(1);
      jest.restoreAllMocks();
      expect(await sut.resolveWrite('alice', 'w1')).toMatchObject({ outcome: 'aborted' });
      expect(stored('alice', 'w1')).toMatchObject({ outcome: 'aborted', path: 'a.txt' });
      await restart();
      expect(readdirSync(join(dataDir, UPLOADS_FOLDER))).toEqual([]);
    });
  });

  describe('resolveWrite', () => {
    it('answers applied, with the path and size, for an applied write', async () => {
      await sut.write('alice', path('a/b.txt'), body('hello'), 5, 'w1');
      expect(await sut.resolveWrite('alice', 'w1')).toMatchObject({
        write_id: 'w1',
        outcome: 'applied',
        path: 'a/b.txt',
        size: 5,
      });
    });

    it('fences an unknown write id: aborted, recorded first, and a write with it is refused', async () => {
      expect(await sut.resolveWrite('alice', 'w1')).toMatchObject({
        write_id: 'w1',
        outcome: 'aborted',
      });
      expect(stored('alice', 'w1')).toMatchObject({ outcome: 'aborted', path: null });
      expect(await failure(sut.write('alice', path('a.txt'), body('hello'), 5, 'w1'))).toEqual(
        ABORTED,
      );
      expect(await sut.resolveWrite('alice', 'w1')).toMatchObject({ outcome: 'aborted' });
      expect(existsSync(userFile('alice', 'a.txt'))).toBe(false);
    });

    it('fences per user: the same id of another user is untouched', async () => {
      await sut.resolveWrite('alice', 'w1');
      expect(await sut.write('bob', path('a.txt'), body('hello'), 5, 'w1')).toMatchObject({
        created: true,
        replayed: false,
      });
    });

    it('waits for a write of the same user in progress, then answers its outcome', async () => {
      const slow = new PassThrough();
      const writing = sut.write('alice', path('a.txt'), slow, undefined, 'w1');
      let resolved = false;
      const resolving = sut.resolveWrite('alice', 'w1').finally(() => (resolved = true));
      slow.write('hel');
      await new Promise((done) => setTimeout(done, 50));
      // Not fenced mid-upload: the resolve waits for the write's outcome.
      expect(resolved).toBe(false);
      slow.end('lo');
      await writing;
      expect(await resolving).toMatchObject({ outcome: 'applied', path: 'a.txt', size: 5 });
    });
  });

  describe('at boot, after a crash', () => {
    it('settles an intent as applied when the file at its path has the recorded inode', async () => {
      await sut.write('alice', path('a.txt'), body('hello'), 5);
      plant('alice', intent('w1', 'a.txt', String(statSync(userFile('alice', 'a.txt')).ino)));
      await restart();
      expect(stored('alice', 'w1')).toMatchObject({ outcome: 'applied' });
      expect(await sut.resolveWrite('alice', 'w1')).toMatchObject({
        outcome: 'applied',
        path: 'a.txt',
        size: 5,
      });
    });

    it('settles an intent as aborted when its upload never got renamed (kill -9 before)', async () => {
      const upload = join(dataDir, UPLOADS_FOLDER, 'alice.1234.part');
      writeFileSync(upload, 'hello');
      plant('alice', intent('w1', 'a.txt', String(statSync(upload).ino)));
      await restart();
      expect(await sut.resolveWrite('alice', 'w1')).toMatchObject({ outcome: 'aborted' });
      expect(readdirSync(join(dataDir, UPLOADS_FOLDER))).toEqual([]);
      expect(await failure(sut.write('alice', path('a.txt'), body('hello'), 5, 'w1'))).toEqual(
        ABORTED,
      );
    });

    it('settles an intent as aborted when another file is at its path', async () => {
      await sut.write('alice', path('a.txt'), body('hello'), 5);
      const inode = String(statSync(userFile('alice', 'a.txt')).ino);
      await sut.write('alice', path('a.txt'), body('other'), 5);
      plant('alice', intent('w1', 'a.txt', inode));
      await restart();
      expect(await sut.resolveWrite('alice', 'w1')).toMatchObject({ outcome: 'aborted' });
    });

    it('follows no symlink: a link at the path to the recorded inode is not the write', async () => {
      const outside = join(root, 'outside.txt');
      writeFileSync(outside, 'hello');
      mkdirSync(userFile('alice'), { recursive: true });
      symlinkSync(outside, userFile('alice', 'a.txt'));
      plant('alice', intent('w1', 'a.txt', String(statSync(outside).ino)));
      await restart();
      expect(await sut.resolveWrite('alice', 'w1')).toMatchObject({ outcome: 'aborted' });
    });

    it('forgets records older than FS_WRITE_JOURNAL_DAYS', async () => {
      const old = new Date(Date.now() - 31 * DAY_MS).toISOString();
      plant('alice', { ...intent('old', 'a.txt', '1'), outcome: 'applied', at: old });
      plant('alice', { ...intent('recent', 'a.txt', '1'), outcome: 'applied' });
      await restart();
      expect((await sut.listWrites('alice', undefined, 10)).records).toEqual([
        expect.objectContaining({ write_id: 'recent', outcome: 'applied' }),
      ]);
    });
  });
});

/** Makes `fs.promises.rename` fail (EIO) for the calls `when` picks; the others run for real. */
function failRenames(when: (from: string, to: string) => boolean): void {
  const realRename = fsPromises.rename.bind(fsPromises);
  jest.spyOn(fsPromises, 'rename').mockImplementation(async (from, to) => {
    if (when(String(from), String(to))) {
      throw Object.assign(new Error('EIO: simulated failure'), { code: 'EIO' });
    }
    return realRename(from, to);
  });
}
