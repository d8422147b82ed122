import { HttpError } from '@zt/service-chassis';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parseFilePath } from '@zt/contracts';
import { UPLOADS_FOLDER } from './files.constants';
import { FilesService } from './files.service';

const MAX_FILE = 1024;
const MAX_USER = 4096;
const MAX_ENTRIES = 6;
const MAX_DEPTH = 5;
const LIMITS = {
  maxFileBytes: MAX_FILE,
  maxUserBytes: MAX_USER,
  maxUserEntries: 100,
  maxPathDepth: MAX_DEPTH,
  writeJournalDays: 30,
};

async function failure(promise: Promise<unknown>): Promise<{ status: number; body: unknown }> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(HttpError);
    return { status: (error as HttpError).getStatus(), body: (error as HttpError).getResponse() };
  }
  throw new Error('expected an HttpError');
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A body that records whether anyone read it. */
function untouchedBody(): Readable & { wasRead: boolean } {
  const body = new Readable({
    read() {
      body.wasRead = true;
      this.push(Buffer.alloc(10));
      this.push(null);
    },
  }) as Readable & { wasRead: boolean };
  body.wasRead = false;
  return body;
}

describe(FilesService.name, () => {
  let root: string;
  let dataDir: string;
  let sut: FilesService;
  const path = (encoded: string) => parseFilePath(encoded);
  const body = (...chunks: Buffer[]) => Readable.from(chunks);
  const userDir = (user: string) => join(dataDir, user);

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'files-service-'));
    dataDir = join(root, 'filesystem-server');
    sut = new FilesService({ dataDir, ...LIMITS });
    await sut.onModuleInit();
  });

  afterEach(() => {
    sut.onModuleDestroy();
    rmSync(root, { recursive: true, force: true });
  });

  describe('write', () => {
    it('creates a file with its parents, then replaces it atomically', async () => {
      const bytes = Buffer.from([0, 1, 2, 255, 0, 0]);
      expect(await sut.write('alice', path('a/b/c.bin'), body(bytes), undefined)).toEqual({
        created: true,
        size: 6,
        replayed: false,
      });
      expect(readFileSync(join(userDir('alice'), 'a', 'b', 'c.bin'))).toEqual(bytes);
      expect(await sut.write('alice', path('a/b/c.bin'), body(Buffer.from('new')), 3)).toEqual({
        created: false,
        size: 3,
        replayed: false,
      });
      expect(readFileSync(join(userDir('alice'), 'a', 'b', 'c.bin'), 'utf8')).toBe('new');
      expect(readdirSync(join(dataDir, UPLOADS_FOLDER))).toEqual([]);
    });

    it('stores an empty file', async () => {
      expect(await sut.write('alice', path('empty'), body(), 0)).toEqual({
        created: true,
        size: 0,
        replayed: false,
      });
      expect(readFileSync(join(userDir('alice'), 'empty'))).toHaveLength(0);
    });

    it('answers 409 when a parent on the path is a file', async () => {
      await sut.write('alice', path('a.txt'), body(Buffer.from('x')), 1);
      expect(await failure(sut.write('alice', path('a.txt/b'), body(Buffer.from('y')), 1))).toEqual(
        { status: 409, body: { error: 'a parent folder on this path is a file' } },
      );
      expect(readFileSync(join(userDir('alice'), 'a.txt'), 'utf8')).toBe('x');
    });

    it('answers 409 when the path is a folder', async () => {
      await sut.write('alice', path('dir/x'), body(Buffer.from('x')), 1);
      expect(await failure(sut.write('alice', path('dir'), body(Buffer.from('y')), 1))).toEqual({
        status: 409,
        body: { error: 'a folder exists at this path' },
      });
      expect(readFileSync(join(userDir('alice'), 'dir', 'x'), 'utf8')).toBe('x');
    });

    it('refuses a declared size over the file limit before reading a byte', async () => {
      const unread = untouchedBody();
      expect(await failure(sut.write('alice', path('big'), unread, MAX_FILE + 1))).toEqual({
        status: 413,
        body: { error: `file is larger than ${MAX_FILE} bytes` },
      });
      expect(unread.wasRead).toBe(false);
      expect(existsSync(userDir('alice'))).toBe(false);
    });

    it('stops a streamed body at the first byte over the file limit and keeps nothing', async () => {
      const chunks = Array.from({ length: 5 }, () => Buffer.alloc(205, 7));
      expect(await failure(sut.write('alice', path('big'), body(...chunks), undefined))).toEqual({
        status: 413,
        body: { error: `file is larger than ${MAX_FILE} bytes` },
      });
      expect(existsSync(join(userDir('alice'), 'big'))).toBe(false);
      expect(readdirSync(join(dataDir, UPLOADS_FOLDER))).toEqual([]);
    });

    it('accepts a file of exactly the file limit', async () => {
      expect(
        await sut.write('alice', path('max'), body(Buffer.alloc(MAX_FILE, 1)), undefined),
      ).toEqual({ created: true, size: MAX_FILE, replayed: false });
    });

    it('keeps a failed replacement from touching the old file', async () => {
      await sut.write('alice', path('keep'), body(Buffer.from('old')), 3);
      await failure(sut.write('alice', path('keep'), body(Buffer.alloc(MAX_FILE + 1)), undefined));
      expect(readFileSync(join(userDir('alice'), 'keep'), 'utf8')).toBe('old');
    });

    it('counts the user quota over every file, minus the one being replaced', async () => {
      for (const name of ['1', '2', '3', '4']) {
        await sut.write('alice', path(`q/${name}`), body(Buffer.alloc(1000)), 1000);
      }
      // 4000 used: 96 left for a new file, declared or streamed.
      expect(await failure(sut.write('alice', path('q/5'), untouchedBody(), 97))).toEqual({
        status: 413,
        body: { error: `storage quota of ${MAX_USER} bytes would be exceeded` },
      });
      expect(
        (await failure(sut.write('alice', path('q/5'), body(Buffer.alloc(97)), undefined))).status,
      ).toBe(413);
      expect(existsSync(join(userDir('alice'), 'q', '5'))).toBe(false);
      expect(await sut.write('alice', path('q/5'), body(Buffer.alloc(96)), 96)).toEqual({
        created: true,
        size: 96,
        replayed: false,
      });
      // Replacing a 1000-byte file with 1000 bytes fits although the quota is nearly full.
      expect(await sut.write('alice', path('q/1'), body(Buffer.alloc(1000, 2)), 1000)).toEqual({
        created: false,
        size: 1000,
        replayed: false,
      });
      // Another user's quota is untouched.
      expect(await sut.write('bob', path('q/1'), body(Buffer.alloc(1000)), 1000)).toEqual({
        created: true,
        size: 1000,
        replayed: false,
      });
    });

    it('never lets concurrent writes of one user pass the quota together', async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, index) =>
          sut.write(
            'alice',
            path(`c/${index}`),
            body(Buffer.alloc(500), Buffer.alloc(500)),
            undefined,
          ),
        ),
      );
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(4);
      const stored = await sut.list('alice');
      expect(stored.reduce((sum, file) => sum + file.size, 0)).toBe(4000);
    });
  });

  describe('entries and depth', () => {
    beforeEach(async () => {
      sut = new FilesService({ dataDir, ...LIMITS, maxUserEntries: MAX_ENTRIES });
      await sut.onModuleInit();
    });

    it('counts folders with files toward the entry quota, and creates nothing past it', async () => {
      // a, a/b, a/b/c and the file: four entries.
      await sut.write('alice', path('a/b/c/one.txt'), body(Buffer.from('1')), 1);
      // x, x/y and the file would make seven.
      expect(await failure(sut.write('alice', path('x/y/two.txt'), body(), 0))).toEqual({
        status: 413,
        body: { error: `entry quota of ${MAX_ENTRIES} files and folders would be exceeded` },
      });
      expect(existsSync(join(userDir('alice'), 'x'))).toBe(false);
      // Two more fit: a file beside the first, and one in an existing folder.
      await sut.write('alice', path('a/b/c/two.txt'), body(Buffer.from('2')), 1);
      await sut.write('alice', path('a/three.txt'), body(Buffer.from('3')), 1);
      expect(await failure(sut.write('alice', path('four.txt'), body(), 0))).toMatchObject({
        status: 413,
      });
      // Replacing adds no entry; other users have their own quota.
      await sut.write('alice', path('a/three.txt'), body(Buffer.from('33')), 2);
      await sut.write('bob', path('a/b/c/d.txt'), body(Buffer.from('b')), 1);
    });

    it('gives entries back on delete, folders left empty included', async () => {
      await sut.write('alice', path('a/b/c/d/one.txt'), body(Buffer.from('1')), 1);
      await sut.write('alice', path('two.txt'), body(Buffer.from('2')), 1);
      expect(await failure(sut.write('alice', path('x/y.txt'), body(), 0))).toMatchObject({
        status: 413,
      });
      await sut.remove('alice', path('a/b/c/d/one.txt'));
      await sut.write('alice', path('x/y/z/w.txt'), body(Buffer.from('w')), 1);
      expect(await sut.list('alice')).toEqual([
        { path: 'two.txt', size: 1 },
        { path: 'x/y/z/w.txt', size: 1 },
      ]);
    });

    it('lists a tree whole and sorted, and stops a listing whose caller went away', async () => {
      // Three folders of one file each: the entry quota here (6) exactly.
      for (let n = 2; n >= 0; n -= 1) {
        await sut.write('alice', path(`t${n}/f`), body(Buffer.from(`${n}`)), 1);
      }
      const listed = await sut.list('alice');
      expect(listed.map((file) => file.path)).toEqual(['t0/f', 't1/f', 't2/f']);
      expect(listed.map((file) => file.path)).toEqual([...listed.map((file) => file.path)].sort());
      const gone = new AbortController();
      gone.abort();
      await expect(sut.list('alice', gone.signal)).rejects.toMatchObject({ name: 'AbortError' });
    });

    it('refuses a path deeper than the limit with 400 before anything is read', async () => {
      const tooDeep = untouchedBody();
      expect(await failure(sut.write('alice', path('a/b/c/d/e/f.txt'), tooDeep, 10))).toEqual({
        status: 400,
        body: { error: `path has more than ${MAX_DEPTH} segments` },
      });
      expect(tooDeep.wasRead).toBe(false);
      await sut.write('alice', path('a/b/c/d/e.txt'), body(Buffer.from('ok')), 2);
    });

    it('keeps usage instead of walking the tree on every write, and measures it again on restart', async () => {
      await sut.write('alice', path('first.txt'), body(Buffer.alloc(10)), 10);
      // Bytes put there behind the server's back are not seen by a running server...
      writeFileSync(join(userDir('alice'), 'outside.bin'), Buffer.alloc(MAX_USER));
      await sut.write('alice', path('second.txt'), body(Buffer.alloc(10)), 10);
      // ...and a restarted one measures the folder once, and counts them.
      const restarted = new FilesService({ dataDir, ...LIMITS });
      await restarted.onModuleInit();
      expect(await failure(restarted.write('alice', path('third.txt'), body(), 1))).toMatchObject({
        status: 413,
        body: { error: `storage quota of ${MAX_USER} bytes would be exceeded` },
      });
    });
  });

  describe('open', () => {
    it('reads a file back byte for byte', async () => {
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, index) => index));
      await sut.write('alice', path('all-bytes'), body(bytes), 256);
      const file = await sut.open('alice', path('all-bytes'));
      expect(file.size).toBe(256);
      expect(await readAll(file.stream)).toEqual(bytes);
    });

    it.each([['missing'], ['dir']])('answers 404 for %s', async (name) => {
      await sut.write('alice', path('dir/x'), body(Buffer.from('x')), 1);
      expect(await failure(sut.open('alice', path(name)))).toEqual({
        status: 404,
        body: { error: 'file not found' },
      });
    });

    it("never reads another user's file", async () => {
      await sut.write('alice', path('secret'), body(Buffer.from('s')), 1);
      expect((await failure(sut.open('bob', path('secret')))).status).toBe(404);
    });
  });

  describe('symlinks', () => {
    beforeEach(async () => {
      await sut.write('bob', path('secret.txt'), body(Buffer.from('bob only')), 8);
      await sut.write('alice', path('own/file.txt'), body(Buffer.from('mine')), 4);
      const alice = userDir('alice');
      symlinkSync(join(userDir('bob'), 'secret.txt'), join(alice, 'to-bob-file'));
      symlinkSync(userDir('bob'), join(alice, 'to-bob-folder'));
      // Decoys outside every user folder stand in for /etc in the tests that write or
      // delete: a regression must fail a test, never damage the machine running it.
      const outside = join(root, 'outside');
      mkdirSync(outside);
      writeFileSync(join(outside, 'passwd'), 'outside');
      symlinkSync(outside, join(alice, 'outside'));
      symlinkSync(join(outside, 'passwd'), join(alice, 'own', 'passwd'));
      symlinkSync('/etc', join(alice, 'etc'));
      symlinkSync('file.txt', join(alice, 'own', 'inside-link'));
      symlinkSync(userDir('bob'), userDir('mallory'));
    });

    it.each([
      ['alice', 'to-bob-file'],
      ['alice', 'to-bob-folder/secret.txt'],
      ['alice', 'outside/passwd'],
      ['alice', 'own/passwd'],
      ['alice', 'own/inside-link'],
      ['mallory', 'secret.txt'],
    ])('%s cannot read, replace or delete through %s', async (user, link) => {
      expect(await failure(sut.open(user, path(link)))).toEqual({
        status: 404,
        body: { error: 'file not found' },
      });
      expect((await failure(sut.remove(user, path(link)))).status).toBe(404);
      expect((await failure(sut.write(user, path(link), body(Buffer.from('x')), 1))).status).toBe(
        404,
      );
      expect(readFileSync(join(userDir('bob'), 'secret.txt'), 'utf8')).toBe('bob only');
      expect(readdirSync(userDir('bob'))).toEqual(['secret.txt']);
      expect(readFileSync(join(root, 'outside', 'passwd'), 'utf8')).toBe('outside');
    });

    it.each([['etc/passwd'], ['etc/hostname']])('never reads /etc through %s', async (link) => {
      expect(await failure(sut.open('alice', path(link)))).toEqual({
        status: 404,
        body: { error: 'file not found' },
      });
    });

    it('never creates anything through a linked folder', async () => {
      expect(
        (
          await failure(
            sut.write('alice', path('to-bob-folder/new.txt'), body(Buffer.from('x')), 1),
          )
        ).status,
      ).toBe(404);
      expect(
        (await failure(sut.write('mallory', path('new.txt'), body(Buffer.from('x')), 1))).status,
      ).toBe(404);
      expect(
        (await failure(sut.write('alice', path('outside/new.txt'), body(Buffer.from('x')), 1)))
          .status,
      ).toBe(404);
      expect(readdirSync(userDir('bob'))).toEqual(['secret.txt']);
      expect(readdirSync(join(root, 'outside'))).toEqual(['passwd']);
    });

    it('lists and counts no symlink nor anything behind one', async () => {
      expect(await sut.list('alice')).toEqual([{ path: 'own/file.txt', size: 4 }]);
      expect(await sut.list('mallory')).toEqual([]);
    });
  });

  describe('list', () => {
    it('lists every file recursively, sorted by path, and nothing for a new user', async () => {
      for (const name of ['b', 'a/z', 'a/b/c', 'caf%C3%A9', 'A']) {
        await sut.write('alice', path(name), body(Buffer.from(name)), undefined);
      }
      expect(await sut.list('alice')).toEqual([
        { path: 'A', size: 1 },
        { path: 'a/b/c', size: 5 },
        { path: 'a/z', size: 3 },
        { path: 'b', size: 1 },
        { path: 'café', size: 9 },
      ]);
      expect(await sut.list('bob')).toEqual([]);
    });

    it('leaves out names that no request could name', async () => {
      mkdirSync(userDir('alice'));
      writeFileSync(join(userDir('alice'), 'bad\\name'), 'x');
      writeFileSync(join(userDir('alice'), 'ok'), 'x');
      expect(await sut.list('alice')).toEqual([{ path: 'ok', size: 1 }]);
    });
  });

  describe('remove', () => {
    it('deletes the file and the folders it leaves empty, not the user folder', async () => {
      await sut.write('alice', path('a/b/c/file'), body(Buffer.from('x')), 1);
      await sut.write('alice', path('a/keep'), body(Buffer.from('y')), 1);
      await sut.remove('alice', path('a/b/c/file'));
      expect(readdirSync(userDir('alice'))).toEqual(['a']);
      expect(readdirSync(join(userDir('alice'), 'a'))).toEqual(['keep']);
      await sut.remove('alice', path('a/keep'));
      expect(readdirSync(userDir('alice'))).toEqual([]);
    });

    it('answers 404 for a missing file, a folder, and a path under a file', async () => {
      await sut.write('alice', path('dir/file'), body(Buffer.from('x')), 1);
      for (const name of ['nope', 'dir', 'dir/file/deeper']) {
        expect(await failure(sut.remove('alice', path(name)))).toEqual({
          status: 404,
          body: { error: 'file not found' },
        });
      }
      expect(readFileSync(join(userDir('alice'), 'dir', 'file'), 'utf8')).toBe('x');
    });
  });

  describe('the data folder', () => {
    it('is healthy when writable, and unhealthy when the uploads folder is gone', async () => {
      await expect(sut.checkWritable()).resolves.toBeUndefined();
      rmSync(join(dataDir, UPLOADS_FOLDER), { recursive: true });
      await expect(sut.checkWritable()).rejects.toThrow();
    });

    it('drops uploads left by a crash when it starts', async () => {
      writeFileSync(join(dataDir, UPLOADS_FOLDER, 'alice.1234.part'), 'partial');
      await new FilesService({ dataDir, ...LIMITS }).onModuleInit();
      expect(readdirSync(join(dataDir, UPLOADS_FOLDER))).toEqual([]);
    });
  });
});
