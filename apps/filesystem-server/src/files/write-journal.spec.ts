import { Logger } from '@nestjs/common';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type WriteDetails, WriteJournal, type WriteRecord } from './write-journal';

const DAY_MS = 24 * 60 * 60 * 1000;
const T0 = new Date('2030-01-01T00:00:00.000Z');
const DETAILS: WriteDetails = {
  path: 'notes/a.txt',
  size: 5,
  sha256: 'a'.repeat(64),
  created: true,
  inode: '1234',
};

describe(WriteJournal.name, () => {
  let folder: string;
  let clock: Date;
  /** The inode `inodeAt` reports per `user:path` (what the file system would say). */
  let inodes: Map<string, string>;
  let sut: WriteJournal;

  const recordFile = (user: string, writeId: string) => join(folder, user, `${writeId}.json`);
  const stored = (user: string, writeId: string): unknown =>
    JSON.parse(readFileSync(recordFile(user, writeId), 'utf8'));
  const plant = (user: string, record: WriteRecord) => {
    mkdirSync(join(folder, user), { recursive: true });
    writeFileSync(recordFile(user, record.write_id), JSON.stringify(record));
  };
  const daysAgo = (days: number) => new Date(clock.getTime() - days * DAY_MS).toISOString();
  const newJournal = (retentionDays = 30) =>
    new WriteJournal({
      folder,
      retentionDays,
      inodeAt: (user, path) => Promise.resolve(inodes.get(`${user}:${path}`)),
      now: () => clock,
    });

  beforeEach(() => {
    folder = join(mkdtempSync(join(tmpdir(), 'write-journal-')), '.writes');
    clock = T0;
    inodes = new Map();
    sut = newJournal();
  });

  afterEach(() => {
    sut.close();
    rmSync(join(folder, '..'), { recursive: true, force: true });
  });

  describe('records', () => {
    it('knows no write id it never saw', async () => {
      expect(await sut.read('alice', 'w1')).toBeUndefined();
    });

    it('stores an intent, then its application, atomically as JSON, leaving no temp file', async () => {
      const intent = await sut.intend('alice', 'w1', DETAILS);
      expect(stored('alice', 'w1')).toEqual({
        write_id: 'w1',
        outcome: 'intent',
        ...DETAILS,
        at: T0.toISOString(),
      });
      clock = new Date(T0.getTime() + 1000);
      await sut.apply('alice', intent);
      const applied = {
        write_id: 'w1',
        outcome: 'applied',
        ...DETAILS,
        at: clock.toISOString(),
      };
      expect(stored('alice', 'w1')).toEqual(applied);
      expect(await sut.read('alice', 'w1')).toEqual(applied);
      expect(readdirSync(join(folder, 'alice'))).toEqual(['w1.json']);
    });

    it('keeps the records of one write id apart per user', async () => {
      await sut.intend('alice', 'w1', DETAILS);
      expect(await sut.read('bob', 'w1')).toBeUndefined();
    });

    it('fences an unknown write id as aborted, with no details', async () => {
      expect(await sut.abort('alice', 'w1')).toEqual({
        write_id: 'w1',
        outcome: 'aborted',
        path: null,
        size: null,
        sha256: null,
        created: null,
        inode: null,
        at: T0.toISOString(),
      });
      expect(await sut.read('alice', 'w1')).toMatchObject({ outcome: 'aborted', path: null });
    });

    it('keeps only the details of a write it aborts', async () => {
      const extra = { ...DETAILS, secret: 'not stored' } as WriteDetails;
      expect(await sut.abort('alice', 'w1', extra)).toEqual({
        write_id: 'w1',
        outcome: 'aborted',
        ...DETAILS,
        at: T0.toISOString(),
      });
    });

    it.each([
      ['incomplete', '{"write_id":"w1","outcome":"applied"}'],
      ['not JSON', '{"write_id":"w1",'],
      [
        'of another write id',
        JSON.stringify({ ...DETAILS, write_id: 'w2', outcome: 'applied', at: T0.toISOString() }),
      ],
    ])('refuses to guess from a record that is %s', async (_label, text) => {
      mkdirSync(join(folder, 'alice'), { recursive: true });
      writeFileSync(recordFile('alice', 'w1'), text);
      await expect(sut.read('alice', 'w1')).rejects.toThrow(
        'invalid write journal record alice/w1',
      );
    });
  });

  describe('settleIntent', () => {
    it('settles as applied when the file at the path has the upload inode', async () => {
      const intent = await sut.intend('alice', 'w1', DETAILS);
      inodes.set('alice:notes/a.txt', '1234');
      expect(await sut.settleIntent('alice', intent)).toMatchObject({ outcome: 'applied' });
      expect(await sut.read('alice', 'w1')).toMatchObject({ outcome: 'applied', size: 5 });
    });

    it.each([
      ['another file', '999'],
      ['no file', undefined],
    ])('settles as aborted when the path holds %s', async (_label, inode) => {
      const intent = await sut.intend('alice', 'w1', DETAILS);
      if (inode) inodes.set('alice:notes/a.txt', inode);
      expect(await sut.settleIntent('alice', intent)).toMatchObject({ outcome: 'aborted' });
      expect(await sut.read('alice', 'w1')).toMatchObject({
        outcome: 'aborted',
        path: 'notes/a.txt',
      });
    });
  });

  describe('list', () => {
    beforeEach(async () => {
      for (const id of ['c', 'a', 'B', 'b-2', 'b']) await sut.abort('alice', id);
      await sut.apply('alice', await sut.intend('alice', 'z', DETAILS));
      await sut.abort('bob', 'x');
    });

    it('lists a user records sorted by write id (byte order)', async () => {
      const page = await sut.list('alice', undefined, 1000);
      expect(page.records.map((record) => record.write_id)).toEqual([
        'B',
        'a',
        'b',
        'b-2',
        'c',
        'z',
      ]);
      expect(page.records.at(-1)).toMatchObject({ outcome: 'applied', ...DETAILS });
      expect(page.nextAfter).toBeNull();
    });

    it('pages with after and limit, next_after null on the last page', async () => {
      expect(await ids('alice', undefined, 2)).toEqual({ ids: ['B', 'a'], nextAfter: 'a' });
      expect(await ids('alice', 'a', 2)).toEqual({ ids: ['b', 'b-2'], nextAfter: 'b-2' });
      expect(await ids('alice', 'b-2', 2)).toEqual({ ids: ['c', 'z'], nextAfter: null });
      expect(await ids('alice', 'z', 2)).toEqual({ ids: [], nextAfter: null });
    });

    it('lists nothing for a user without records', async () => {
      expect(await sut.list('carol', undefined, 10)).toEqual({ records: [], nextAfter: null });
    });

    async function ids(user: string, after: string | undefined, limit: number) {
      const page = await sut.list(user, after, limit);
      return { ids: page.records.map((record) => record.write_id), nextAfter: page.nextAfter };
    }
  });

  describe('open (at boot) and expiry', () => {
    const intent = (writeId: string, inode: string): WriteRecord => ({
      write_id: writeId,
      outcome: 'intent',
      ...DETAILS,
      inode,
      at: daysAgo(0),
    });
    const aborted = (writeId: string, at: string): WriteRecord => ({
      write_id: writeId,
      outcome: 'aborted',
      path: null,
      size: null,
      sha256: null,
      created: null,
      inode: null,
      at,
    });

    it('settles every intent left by a crash by its inode', async () => {
      plant('alice', intent('renamed', '111'));
      plant('alice', intent('not-renamed', '222'));
      plant('bob', intent('gone', '333'));
      inodes.set('alice:notes/a.txt', '111');
      await sut.open();
      expect(await sut.read('alice', 'renamed')).toMatchObject({ outcome: 'applied' });
      expect(await sut.read('alice', 'not-renamed')).toMatchObject({ outcome: 'aborted' });
      expect(await sut.read('bob', 'gone')).toMatchObject({ outcome: 'aborted' });
    });

    it('starts despite a record it cannot read, keeping it and logging which', async () => {
      const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      mkdirSync(join(folder, 'alice'), { recursive: true });
      writeFileSync(recordFile('alice', 'w1'), '{"write_id":');
      await sut.open();
      expect(readdirSync(join(folder, 'alice'))).toEqual(['w1.json']);
      expect(logged).toHaveBeenCalledWith('invalid write journal record alice/w1');
      logged.mockRestore();
    });

    it('drops temp files left by a crash, and emptied user folders', async () => {
      mkdirSync(join(folder, 'alice'), { recursive: true });
      writeFileSync(join(folder, 'alice', '.w1.0f1e.tmp'), '{"half');
      plant('bob', aborted('w2', daysAgo(0)));
      await sut.open();
      expect(readdirSync(folder)).toEqual(['bob']);
      expect(readdirSync(join(folder, 'bob'))).toEqual(['w2.json']);
    });

    it('removes settled records older than the retention at boot, keeps the others', async () => {
      plant('alice', aborted('old', daysAgo(31)));
      plant('alice', aborted('just-kept', daysAgo(29)));
      plant('alice', { ...intent('old-intent', '1'), at: daysAgo(40) });
      await sut.open();
      expect(await sut.read('alice', 'old')).toBeUndefined();
      expect(await sut.read('alice', 'just-kept')).toMatchObject({ outcome: 'aborted' });
      // Settled at boot, so it is new again.
      expect(await sut.read('alice', 'old-intent')).toMatchObject({
        outcome: 'aborted',
        at: clock.toISOString(),
      });
    });

    it('expires records as the days pass, never an unsettled intent', async () => {
      await sut.abort('alice', 'settled');
      await sut.intend('alice', 'in-flight', DETAILS);
      clock = new Date(T0.getTime() + 10 * DAY_MS);
      await newJournal(10).prune();
      expect(await sut.read('alice', 'settled')).toMatchObject({ outcome: 'aborted' });
      clock = new Date(T0.getTime() + 10 * DAY_MS + 1);
      await newJournal(10).prune();
      expect(await sut.read('alice', 'settled')).toBeUndefined();
      expect(await sut.read('alice', 'in-flight')).toMatchObject({ outcome: 'intent' });
    });

    it('expires once a day after it opened, and stops when closed', async () => {
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'Date'] });
      try {
        await sut.open();
        await sut.abort('alice', 'first');
        clock = new Date(T0.getTime() + 31 * DAY_MS);
        jest.advanceTimersByTime(DAY_MS);
        await waitFor(async () => (await sut.read('alice', 'first')) === undefined);
        expect(await sut.read('alice', 'first')).toBeUndefined();

        expect(jest.getTimerCount()).toBe(1);
        sut.close();
        expect(jest.getTimerCount()).toBe(0);
      } finally {
        jest.useRealTimers();
      }
    });
  });
});

/** Polls `condition` on real I/O turns (timers are frozen): the expiry runs in the background. */
async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  for (let attempt = 0; attempt < 500 && !(await condition()); attempt++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
}
