import {
  builtServiceMain,
  generateToken,
  type RawResponse,
  sendRaw,
  type ServiceProcess,
  startServiceProcess,
} from '@zt/test-kit';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const main = builtServiceMain('filesystem-server');
const WRITE_ABORTED = { error: 'write aborted' };
const WRITE_ID_REUSED = { error: 'write id used for a different write' };

function statusAndBody(response: RawResponse): { status: number; body: unknown } {
  return { status: response.status, body: response.body };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Starts the built service on `dataDir` (the parent of its `filesystem-server` folder). */
function startService(token: string, dataDir: string, env: Record<string, string> = {}) {
  return startServiceProcess({
    main,
    env: {
      INTERNAL_SERVICE_TOKEN: token,
      FILESYSTEM_SERVER_PORT: '0',
      DATA_DIR: dataDir,
      FS_MAX_FILE_BYTES: '1024',
      ...env,
    },
  });
}

describe('filesystem-server write journal (process)', () => {
  const token = generateToken();
  let service: ServiceProcess;
  let dataDir: string;
  let filesDir: string;
  let nextUser = 0;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'write-journal-e2e-'));
    filesDir = join(dataDir, 'filesystem-server');
    service = await startService(token, dataDir);
  });

  afterAll(async () => {
    expect((await service.stop()).graceful).toBe(true);
    expect(service.output()).not.toContain('unhandled_error');
    if (process.env['SHOW_SERVICE_OUTPUT']) process.stdout.write(service.output());
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** A user of its own for each test, so that each passes alone. */
  const newUser = () => `journal-user-${++nextUser}`;
  const put = (user: string, path: string, body: string, writeIds: string[] = []) =>
    sendRaw(service.url, {
      method: 'PUT',
      path: `/files/${path}`,
      headers: [
        'X-INTERNAL-TOKEN',
        token,
        'X-User-ID',
        user,
        ...writeIds.flatMap((id) => ['X-Write-ID', id]),
      ],
      body,
    });
  const call = (method: string, path: string, user: string, body?: string) =>
    sendRaw(service.url, {
      method,
      path,
      headers: ['X-INTERNAL-TOKEN', token, 'X-User-ID', user],
      body,
    });
  // With Content-Length: 0, as fetch sends a POST without body (node:http would send chunked).
  const resolve = (user: string, writeId: string) =>
    call('POST', `/writes/${writeId}/resolve`, user, '');
  const onDisk = (user: string, ...segments: string[]) => join(filesDir, user, ...segments);

  describe('PUT /files/*path with X-Write-ID', () => {
    it('answers a repeat with the first status and body, marked Write-Replayed: true', async () => {
      const user = newUser();
      const first = await put(user, 'notes/a.txt', 'hello', ['w-1']);
      expect(statusAndBody(first)).toEqual({ status: 201, body: { path: 'notes/a.txt', size: 5 } });
      expect(first.headers['write-replayed']).toBeUndefined();
      const again = await put(user, 'notes/a.txt', 'hello', ['w-1']);
      expect(statusAndBody(again)).toEqual({ status: 201, body: { path: 'notes/a.txt', size: 5 } });
      expect(again.headers['write-replayed']).toBe('true');
      expect(readFileSync(onDisk(user, 'notes', 'a.txt'), 'utf8')).toBe('hello');
    });

    it('replays a replacement as 200', async () => {
      const user = newUser();
      expect((await put(user, 'a.txt', 'old')).status).toBe(201);
      expect((await put(user, 'a.txt', 'new', ['w-1'])).status).toBe(200);
      const again = await put(user, 'a.txt', 'new', ['w-1']);
      expect(statusAndBody(again)).toEqual({ status: 200, body: { path: 'a.txt', size: 3 } });
      expect(again.headers['write-replayed']).toBe('true');
    });

    it('refuses the id for other bytes or another path (409), storing nothing', async () => {
      const user = newUser();
      await put(user, 'a.txt', 'hello', ['w-1']);
      expect(statusAndBody(await put(user, 'a.txt', 'HELLO', ['w-1']))).toEqual({
        status: 409,
        body: WRITE_ID_REUSED,
      });
      expect(statusAndBody(await put(user, 'b.txt', 'hello', ['w-1']))).toEqual({
        status: 409,
        body: WRITE_ID_REUSED,
      });
      expect(readFileSync(onDisk(user, 'a.txt'), 'utf8')).toBe('hello');
      expect(existsSync(onDisk(user, 'b.txt'))).toBe(false);
    });

    it.each([
      ['repeated', ['w-1', 'w-1'], 'X-Write-ID must appear once'],
      ['repeated with another value', ['w-1', 'w-2'], 'X-Write-ID must appear once'],
      ['empty', [''], 'X-Write-ID must be 1-64 letters, digits, "_" or "-"'],
      ['65 characters', ['a'.repeat(65)], 'X-Write-ID must be 1-64 letters, digits, "_" or "-"'],
      ['with a dot', ['a.b'], 'X-Write-ID must be 1-64 letters, digits, "_" or "-"'],
      ['with a slash', ['a/b'], 'X-Write-ID must be 1-64 letters, digits, "_" or "-"'],
      ['with a comma', ['a,b'], 'X-Write-ID must be 1-64 letters, digits, "_" or "-"'],
    ])('refuses an X-Write-ID %s with 400, storing nothing', async (_label, ids, error) => {
      const user = newUser();
      expect(statusAndBody(await put(user, 'a.txt', 'hello', ids))).toEqual({
        status: 400,
        body: { error },
      });
      expect(existsSync(onDisk(user))).toBe(false);
      expect(existsSync(join(filesDir, '.writes', user))).toBe(false);
    });

    it('refuses a repeated X-Write-ID whose names differ in case', async () => {
      const user = newUser();
      const response = await sendRaw(service.url, {
        method: 'PUT',
        path: '/files/a.txt',
        headers: [
          'X-INTERNAL-TOKEN',
          token,
          'X-User-ID',
          user,
          'X-Write-ID',
          'w-1',
          'x-write-id',
          'w-1',
        ],
        body: 'hello',
      });
      expect(statusAndBody(response)).toEqual({
        status: 400,
        body: { error: 'X-Write-ID must appear once' },
      });
      expect(existsSync(onDisk(user))).toBe(false);
    });
  });

  describe('POST /writes/:write_id/resolve', () => {
    it('answers applied with the path and size of an applied write', async () => {
      const user = newUser();
      await put(user, 'docs/report.txt', 'twelve bytes', ['w_9']);
      expect(statusAndBody(await resolve(user, 'w_9'))).toEqual({
        status: 200,
        body: { write_id: 'w_9', outcome: 'applied', path: 'docs/report.txt', size: 12 },
      });
    });

    it('fences a fresh id: aborted, and a PUT with it then gets 409, storing nothing', async () => {
      const user = newUser();
      const aborted = { status: 200, body: { write_id: 'w-1', outcome: 'aborted' } };
      expect(statusAndBody(await resolve(user, 'w-1'))).toEqual(aborted);
      expect(statusAndBody(await put(user, 'a.txt', 'hello', ['w-1']))).toEqual({
        status: 409,
        body: WRITE_ABORTED,
      });
      expect(existsSync(onDisk(user))).toBe(false);
      expect(statusAndBody(await resolve(user, 'w-1'))).toEqual(aborted);
      expect(statusAndBody(await call('GET', '/files', user))).toEqual({
        status: 200,
        body: { files: [] },
      });
    });

    it('fences per user: the same id stays free for another user', async () => {
      const [alice, bob] = [newUser(), newUser()];
      await resolve(alice, 'w-1');
      expect((await put(bob, 'a.txt', 'hello', ['w-1'])).status).toBe(201);
    });

    it.each([['a.b'], ['a'.repeat(65)], ['a%2Fb']])(
      'refuses write_id %s with 400, fencing nothing',
      async (writeId) => {
        const user = newUser();
        expect(statusAndBody(await resolve(user, writeId))).toEqual({
          status: 400,
          body: { error: 'write_id must be 1-64 letters, digits, "_" or "-"' },
        });
        expect(existsSync(join(filesDir, '.writes', user))).toBe(false);
      },
    );

    it('needs X-User-ID', async () => {
      const response = await sendRaw(service.url, {
        method: 'POST',
        path: '/writes/w-1/resolve',
        headers: ['X-INTERNAL-TOKEN', token],
        body: '',
      });
      expect(statusAndBody(response)).toEqual({
        status: 400,
        body: { error: 'X-User-ID header is required' },
      });
    });
  });

  describe('GET /writes', () => {
    it('lists the user journal sorted by write id, a page at a time', async () => {
      const user = newUser();
      await put(user, 'b.txt', 'bee', ['w-b']);
      await resolve(user, 'w-c');
      await put(user, 'a.txt', 'hello', ['w-a']);
      await put(newUser(), 'other.txt', 'not listed', ['w-0']);
      const all = await call('GET', '/writes', user);
      expect(all.status).toBe(200);
      expect(all.body).toEqual({
        writes: [
          {
            write_id: 'w-a',
            outcome: 'applied',
            path: 'a.txt',
            size: 5,
            sha256: sha256('hello'),
            at: expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/),
          },
          {
            write_id: 'w-b',
            outcome: 'applied',
            path: 'b.txt',
            size: 3,
            sha256: sha256('bee'),
            at: expect.any(String),
          },
          {
            write_id: 'w-c',
            outcome: 'aborted',
            path: null,
            size: null,
            sha256: null,
            at: expect.any(String),
          },
        ],
        next_after: null,
      });
      const first = await call('GET', '/writes?limit=2', user);
      expect(first.body).toMatchObject({
        writes: [{ write_id: 'w-a' }, { write_id: 'w-b' }],
        next_after: 'w-b',
      });
      const second = await call('GET', '/writes?after=w-b&limit=2', user);
      expect(second.body).toMatchObject({ writes: [{ write_id: 'w-c' }], next_after: null });
    });

    it('lists nothing for a user without writes', async () => {
      expect(statusAndBody(await call('GET', '/writes', newUser()))).toEqual({
        status: 200,
        body: { writes: [], next_after: null },
      });
    });

    it.each([
      ['limit=0', 'limit'],
      ['limit=1001', 'limit'],
      ['limit=abc', 'limit'],
      ['limit=1&limit=2', 'limit'],
      ['after=a.b', 'after'],
      ['after=', 'after'],
      ['before=w-1', ''],
    ])('refuses ?%s with 400', async (query, field) => {
      const response = await call('GET', `/writes?${query}`, newUser());
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({
        error: 'invalid request',
        details: [expect.objectContaining({ field })],
      });
    });
  });
});

describe('filesystem-server write journal after a kill -9', () => {
  const token = generateToken();
  let dataDir: string;
  let filesDir: string;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'write-journal-crash-'));
    filesDir = join(dataDir, 'filesystem-server');
  });

  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  const plant = (user: string, record: Record<string, unknown>) => {
    const folder = join(filesDir, '.writes', user);
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, `${String(record['write_id'])}.json`), JSON.stringify(record));
  };
  const intent = (writeId: string, path: string, inode: number, text: string) => ({
    write_id: writeId,
    outcome: 'intent',
    path,
    size: text.length,
    sha256: sha256(text),
    created: true,
    inode: String(inode),
    at: new Date().toISOString(),
  });

  it('settles each interrupted write by whether its upload reached its path', async () => {
    const user = 'crashed-user';
    const first = await startService(token, dataDir);
    expect(
      (
        await sendRaw(first.url, {
          method: 'PUT',
          path: '/files/landed.txt',
          headers: ['X-INTERNAL-TOKEN', token, 'X-User-ID', user],
          body: 'hello',
        })
      ).status,
    ).toBe(201);
    first.child.kill('SIGKILL');
    expect((await first.stop()).signal).toBe('SIGKILL');

    // As a kill between the intent and the rename leaves them: one upload renamed into place
    // before the kill (its applied record never written), one still in the upload folder.
    const landedInode = statSync(join(filesDir, user, 'landed.txt')).ino;
    const upload = join(filesDir, '.uploads', `${user}.interrupted.part`);
    writeFileSync(upload, 'lost!');
    plant(user, intent('w-landed', 'landed.txt', landedInode, 'hello'));
    plant(user, intent('w-lost', 'lost.txt', statSync(upload).ino, 'lost!'));
    const old = new Date(Date.now() - 3 * 24 * 60 * 60 * 1000).toISOString();
    plant(user, {
      ...intent('w-old', 'landed.txt', landedInode, 'hello'),
      outcome: 'applied',
      at: old,
    });

    const second = await startService(token, dataDir, { FS_WRITE_JOURNAL_DAYS: '2' });
    try {
      const as = ['X-INTERNAL-TOKEN', token, 'X-User-ID', user];
      const resolve = (writeId: string) =>
        sendRaw(second.url, {
          method: 'POST',
          path: `/writes/${writeId}/resolve`,
          headers: as,
          body: '',
        });
      expect(statusAndBody(await resolve('w-landed'))).toEqual({
        status: 200,
        body: { write_id: 'w-landed', outcome: 'applied', path: 'landed.txt', size: 5 },
      });
      expect(statusAndBody(await resolve('w-lost'))).toEqual({
        status: 200,
        body: { write_id: 'w-lost', outcome: 'aborted' },
      });
      // Settled at boot, before the interrupted upload was dropped.
      expect(readdirSync(join(filesDir, '.uploads'))).toEqual([]);
      expect(existsSync(join(filesDir, user, 'lost.txt'))).toBe(false);
      const replay = await sendRaw(second.url, {
        method: 'PUT',
        path: '/files/landed.txt',
        headers: [...as, 'X-Write-ID', 'w-landed'],
        body: 'hello',
      });
      expect(statusAndBody(replay)).toEqual({ status: 201, body: { path: 'landed.txt', size: 5 } });
      expect(replay.headers['write-replayed']).toBe('true');
      // Older than FS_WRITE_JOURNAL_DAYS: forgotten at boot.
      const listed = await sendRaw(second.url, { path: '/writes', headers: as });
      expect(
        (listed.body as { writes: Array<{ write_id: string }> }).writes.map((w) => w.write_id),
      ).toEqual(['w-landed', 'w-lost']);
    } finally {
      expect((await second.stop()).graceful).toBe(true);
    }
  });
});
