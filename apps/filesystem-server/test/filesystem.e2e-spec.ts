import {
  builtServiceMain,
  generateToken,
  type RawResponse,
  runServiceToExit,
  sendRaw,
  sendRawPartial,
  sendRawThenDrop,
  type ServiceProcess,
  startServiceProcess,
} from '@zt/test-kit';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const main = builtServiceMain('filesystem-server');
const MAX_FILE = 1024;
const MAX_USER = 4096;
const FILE_TOO_LARGE = { error: `file is larger than ${MAX_FILE} bytes` };
const QUOTA_EXCEEDED = { error: `storage quota of ${MAX_USER} bytes would be exceeded` };
const NOT_FOUND = { error: 'file not found' };
const FORBIDDEN = { error: 'Forbidden' };

/** Every entry under `folder`, without following symlinks: path -> size, `dir` or `-> target`. */
function tree(folder: string, prefix = ''): Record<string, string | number> {
  const entries: Record<string, string | number> = {};
  if (!existsSync(folder)) return entries;
  for (const name of readdirSync(folder).sort()) {
    const path = join(folder, name);
    const key = `${prefix}${name}`;
    const stats = lstatSync(path);
    if (stats.isSymbolicLink()) entries[key] = `-> ${readlinkSync(path)}`;
    else if (stats.isDirectory()) {
      entries[key] = 'dir';
      Object.assign(entries, tree(path, `${key}/`));
    } else entries[key] = stats.size;
  }
  return entries;
}

/** Waits for `condition` (the server finishing work after it answered), then lets the caller assert. */
async function eventually(condition: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 200 && !condition(); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function statusAndBody(response: RawResponse): { status: number; body: unknown } {
  return { status: response.status, body: response.body };
}

describe('filesystem-server process', () => {
  const token = generateToken();
  let service: ServiceProcess;
  let dataDir: string;
  let filesDir: string;
  let uploadsDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'filesystem-e2e-'));
    filesDir = join(dataDir, 'filesystem-server');
    uploadsDir = join(filesDir, '.uploads');
    service = await startServiceProcess({
      main,
      env: {
        INTERNAL_SERVICE_TOKEN: token,
        FILESYSTEM_SERVER_PORT: '0',
        DATA_DIR: dataDir,
        FS_MAX_FILE_BYTES: String(MAX_FILE),
        FS_MAX_USER_BYTES: String(MAX_USER),
      },
    });
  });

  afterAll(async () => {
    expect((await service.stop()).graceful).toBe(true);
    // Refusals, interrupted uploads and symlinks are expected cases, never a 500.
    expect(service.output()).not.toContain('unhandled_error');
    if (process.env['SHOW_SERVICE_OUTPUT']) process.stdout.write(service.output());
    rmSync(dataDir, { recursive: true, force: true });
  });

  const as = (user?: string) => ['X-INTERNAL-TOKEN', token, ...(user ? ['X-User-ID', user] : [])];
  const call = (method: string, path: string, user: string, body?: Buffer | string) =>
    sendRaw(service.url, { method, path, headers: as(user), body });
  const putChunked = (path: string, user: string, chunks: Buffer[]) =>
    sendRaw(service.url, { method: 'PUT', path, headers: as(user), chunks });
  const onDisk = (user: string, ...segments: string[]) => join(filesDir, user, ...segments);

  it('answers GET /health without a credential, checking the data folder', async () => {
    const response = await sendRaw(service.url, { path: '/health' });
    expect(statusAndBody(response)).toEqual({
      status: 200,
      body: { status: 'ok', checks: { data_folder: 'up' } },
    });
  });

  describe('every file route refuses every bad credential, with or without X-User-ID', () => {
    const victim = 'victim';
    const routes: Array<[string, string, string | undefined]> = [
      ['GET', '/files', undefined],
      ['PUT', '/files/doc.txt', 'overwritten'],
      ['PUT', '/files/new.txt', 'planted'],
      ['GET', '/files/doc.txt', undefined],
      ['DELETE', '/files/doc.txt', undefined],
    ];
    const badCredentials: Array<[string, () => string[]]> = [
      ['missing', () => []],
      ['empty', () => ['X-INTERNAL-TOKEN', '']],
      ['wrong', () => ['X-INTERNAL-TOKEN', generateToken()]],
      ['one character short', () => ['X-INTERNAL-TOKEN', token.slice(0, -1)]],
      ['one character long', () => ['X-INTERNAL-TOKEN', `${token}x`]],
      ['repeated', () => ['X-INTERNAL-TOKEN', token, 'X-INTERNAL-TOKEN', token]],
      ['repeated, differently cased', () => ['X-INTERNAL-TOKEN', token, 'x-internal-token', token]],
      ['comma-joined', () => ['X-INTERNAL-TOKEN', `${token},${token}`]],
      ['in Authorization', () => ['Authorization', `Bearer ${token}`]],
    ];

    beforeAll(async () => {
      expect((await call('PUT', '/files/doc.txt', victim, 'original')).status).toBe(201);
    });

    it.each(routes)('%s %s', async (method, path, body) => {
      const before = tree(dataDir);
      for (const [label, credential] of badCredentials) {
        for (const user of [undefined, victim, '../victim', 'not valid']) {
          const headers = [...credential(), ...(user === undefined ? [] : ['X-User-ID', user])];
          const response = await sendRaw(service.url, { method, path, headers, body });
          expect({ label, user, ...statusAndBody(response) }).toEqual({
            label,
            user,
            status: 403,
            body: FORBIDDEN,
          });
        }
      }
      const inQuery = await sendRaw(service.url, {
        method,
        path: `${path}?token=${token}`,
        headers: ['X-User-ID', victim],
        body,
      });
      expect(statusAndBody(inQuery)).toEqual({ status: 403, body: FORBIDDEN });
      expect(tree(dataDir)).toEqual(before);
      expect(readFileSync(onDisk(victim, 'doc.txt'), 'utf8')).toBe('original');
    });
  });

  describe('X-User-ID', () => {
    const routes: Array<[string, string, string | undefined]> = [
      ['GET', '/files', undefined],
      ['PUT', '/files/x.txt', 'x'],
      ['GET', '/files/x.txt', undefined],
      ['DELETE', '/files/x.txt', undefined],
    ];

    it.each(routes)('is required once and valid on %s %s', async (method, path, body) => {
      const before = tree(dataDir);
      const cases: Array<[string[], string]> = [
        [[], 'X-User-ID header is required'],
        [['X-User-ID', 'alice', 'X-User-ID', 'alice'], 'X-User-ID header must appear once'],
        [['X-User-ID', 'alice', 'x-user-id', 'bob'], 'X-User-ID header must appear once'],
        [['X-User-ID', ''], 'X-User-ID is not a valid user id'],
        [['X-User-ID', '../victim'], 'X-User-ID is not a valid user id'],
        [['X-User-ID', '..'], 'X-User-ID is not a valid user id'],
        [['X-User-ID', '.uploads'], 'X-User-ID is not a valid user id'],
        [['X-User-ID', 'a/b'], 'X-User-ID is not a valid user id'],
        [['X-User-ID', 'a%2fb'], 'X-User-ID is not a valid user id'],
        [['X-User-ID', 'a'.repeat(129)], 'X-User-ID is not a valid user id'],
      ];
      for (const [userHeaders, error] of cases) {
        const response = await sendRaw(service.url, {
          method,
          path,
          headers: ['X-INTERNAL-TOKEN', token, ...userHeaders],
          body,
        });
        expect({ userHeaders, ...statusAndBody(response) }).toEqual({
          userHeaders,
          status: 400,
          body: { error },
        });
      }
      expect(tree(dataDir)).toEqual(before);
    });
  });

  describe('storing, reading, listing and deleting', () => {
    const user = 'round-trip';
    const binary = Buffer.concat([
      Buffer.alloc(16),
      Buffer.from(Array.from({ length: 256 }, (_, index) => index)),
      Buffer.from('\r\n\u0000{"not":"json"', 'utf8'),
      Buffer.alloc(16),
    ]);
    const replacement = randomBytes(700);

    it('creates a file (201) and stores the body byte for byte, zero bytes included', async () => {
      const response = await call('PUT', '/files/docs/data.bin', user, binary);
      expect(statusAndBody(response)).toEqual({
        status: 201,
        body: { path: 'docs/data.bin', size: binary.length },
      });
      expect(readFileSync(onDisk(user, 'docs', 'data.bin')).equals(binary)).toBe(true);
    });

    it('answers the bytes as application/octet-stream with nosniff', async () => {
      const response = await call('GET', '/files/docs/data.bin', user);
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toBe('application/octet-stream');
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['content-length']).toBe(String(binary.length));
      expect(response.bytes.equals(binary)).toBe(true);
    });

    it('replaces it (200) with the new bytes', async () => {
      const response = await call('PUT', '/files/docs/data.bin', user, replacement);
      expect(statusAndBody(response)).toEqual({
        status: 200,
        body: { path: 'docs/data.bin', size: 700 },
      });
      expect(readFileSync(onDisk(user, 'docs', 'data.bin')).equals(replacement)).toBe(true);
      expect((await call('GET', '/files/docs/data.bin', user)).bytes.equals(replacement)).toBe(
        true,
      );
    });

    it('stores a chunked upload, an empty file and a Unicode name', async () => {
      expect(
        statusAndBody(
          await putChunked('/files/chunked.txt', user, [Buffer.from('ab'), Buffer.from('cd')]),
        ),
      ).toEqual({ status: 201, body: { path: 'chunked.txt', size: 4 } });
      expect(statusAndBody(await call('PUT', '/files/empty', user, ''))).toEqual({
        status: 201,
        body: { path: 'empty', size: 0 },
      });
      const emptyRead = await call('GET', '/files/empty', user);
      expect([
        emptyRead.status,
        emptyRead.headers['content-length'],
        emptyRead.bytes.length,
      ]).toEqual([200, '0', 0]);
      expect(
        statusAndBody(await call('PUT', '/files/caf%C3%A9/%E6%97%A5%E6%9C%AC.txt', user, 'ja')),
      ).toEqual({ status: 201, body: { path: 'café/日本.txt', size: 2 } });
      expect(readFileSync(onDisk(user, 'café', '日本.txt'), 'utf8')).toBe('ja');
      expect(readFileSync(onDisk(user, 'chunked.txt'), 'utf8')).toBe('abcd');
    });

    it('lists every file of the user, recursively, sorted by path', async () => {
      expect(statusAndBody(await call('GET', '/files', user))).toEqual({
        status: 200,
        body: {
          files: [
            { path: 'café/日本.txt', size: 2 },
            { path: 'chunked.txt', size: 4 },
            { path: 'docs/data.bin', size: 700 },
            { path: 'empty', size: 0 },
          ],
        },
      });
    });

    it('answers 404 for a folder, 409 for a path under a file or onto a folder', async () => {
      expect(statusAndBody(await call('GET', '/files/docs', user))).toEqual({
        status: 404,
        body: NOT_FOUND,
      });
      expect(statusAndBody(await call('DELETE', '/files/docs', user))).toEqual({
        status: 404,
        body: NOT_FOUND,
      });
      expect(statusAndBody(await call('PUT', '/files/docs', user, 'x'))).toEqual({
        status: 409,
        body: { error: 'a folder exists at this path' },
      });
      expect(statusAndBody(await call('PUT', '/files/empty/inside', user, 'x'))).toEqual({
        status: 409,
        body: { error: 'a parent folder on this path is a file' },
      });
      expect(lstatSync(onDisk(user, 'empty')).isFile()).toBe(true);
      expect(readFileSync(onDisk(user, 'docs', 'data.bin')).equals(replacement)).toBe(true);
    });

    it('deletes (204), removing the folder left empty; then 404', async () => {
      const response = await call('DELETE', '/files/docs/data.bin', user);
      expect([response.status, response.bytes.length]).toEqual([204, 0]);
      expect(existsSync(onDisk(user, 'docs'))).toBe(false);
      expect(statusAndBody(await call('GET', '/files/docs/data.bin', user))).toEqual({
        status: 404,
        body: NOT_FOUND,
      });
      expect(statusAndBody(await call('DELETE', '/files/docs/data.bin', user))).toEqual({
        status: 404,
        body: NOT_FOUND,
      });
      for (const name of ['chunked.txt', 'empty', 'caf%C3%A9/%E6%97%A5%E6%9C%AC.txt']) {
        expect((await call('DELETE', `/files/${name}`, user)).status).toBe(204);
      }
      expect(statusAndBody(await call('GET', '/files', user))).toEqual({
        status: 200,
        body: { files: [] },
      });
      expect(readdirSync(onDisk(user))).toEqual([]);
    });

    it('lists nothing for a user who never stored a file', async () => {
      expect(statusAndBody(await call('GET', '/files', 'newcomer'))).toEqual({
        status: 200,
        body: { files: [] },
      });
      expect(existsSync(onDisk('newcomer'))).toBe(false);
    });
  });

  describe("one user never reaches another's files", () => {
    beforeAll(async () => {
      expect((await call('PUT', '/files/private/diary.txt', 'alice', 'dear diary')).status).toBe(
        201,
      );
    });

    it('another user cannot read, list or delete them', async () => {
      expect(statusAndBody(await call('GET', '/files/private/diary.txt', 'bob'))).toEqual({
        status: 404,
        body: NOT_FOUND,
      });
      expect(statusAndBody(await call('DELETE', '/files/private/diary.txt', 'bob'))).toEqual({
        status: 404,
        body: NOT_FOUND,
      });
      expect(statusAndBody(await call('GET', '/files', 'bob'))).toEqual({
        status: 200,
        body: { files: [] },
      });
      expect(readFileSync(onDisk('alice', 'private', 'diary.txt'), 'utf8')).toBe('dear diary');
    });

    it('the same path is a different file for another user', async () => {
      expect(statusAndBody(await call('PUT', '/files/private/diary.txt', 'bob', 'bob'))).toEqual({
        status: 201,
        body: { path: 'private/diary.txt', size: 3 },
      });
      expect(readFileSync(onDisk('alice', 'private', 'diary.txt'), 'utf8')).toBe('dear diary');
      expect((await call('GET', '/files/private/diary.txt', 'alice')).body).toBe('dear diary');
    });

    it('user ids differing only in case are different folders', async () => {
      expect((await call('GET', '/files/private/diary.txt', 'Alice')).status).toBe(404);
    });
  });

  describe('path tricks sent raw over the wire', () => {
    const user = 'tricky';
    // 1025 characters in segments of a legal length.
    const TOO_LONG = `${'a'.repeat(200)}/`.repeat(5) + 'b'.repeat(20);
    const canary = `zt-escape-${randomBytes(6).toString('hex')}`;
    const tricks: Array<[string, string]> = [
      [`/files/../../../${canary}`, 'file path has a "." or ".." segment'],
      [`/files/a/../../../../${canary}`, 'file path has a "." or ".." segment'],
      [`/files/%2e%2e/%2e%2e/%2e%2e/${canary}`, 'file path has a "." or ".." segment'],
      [`/files/%2E%2e/${canary}`, 'file path has a "." or ".." segment'],
      [`/files/.%2e/${canary}`, 'file path has a "." or ".." segment'],
      [`/files/./${canary}`, 'file path has a "." or ".." segment'],
      [`/files/..%2f..%2f..%2f${canary}`, 'file path has an encoded slash (%2F) inside a segment'],
      [`/files/a%2F${canary}`, 'file path has an encoded slash (%2F) inside a segment'],
      [`/files/..%5c..%5c${canary}`, 'file path has a backslash'],
      [`/files/..\\..\\${canary}`, 'file path has a backslash'],
      [`/files/${canary}%00.txt`, 'file path has a control character'],
      [`/files/${canary}%0d%0aX-Injected:%201`, 'file path has a control character'],
      [`/files/${canary}%7f`, 'file path has a control character'],
      [`/files//tmp/${canary}`, 'file path must not be absolute'],
      [`/files/a//${canary}`, 'file path has an empty segment'],
      [`/files/${canary}/`, 'file path has an empty segment'],
      [`/files/${TOO_LONG}`, 'file path is longer than 1024 characters'],
      [`/files/${'a'.repeat(256)}`, 'file path has a segment longer than 255 bytes'],
    ];

    it.each(['PUT', 'GET', 'DELETE'])('%s answers 400 and touches nothing', async (method) => {
      const before = tree(dataDir);
      for (const [path, error] of tricks) {
        const response = await call(method, path, user, method === 'PUT' ? 'escaped' : undefined);
        expect({ path, ...statusAndBody(response) }).toEqual({
          path,
          status: 400,
          body: { error },
        });
      }
      // A malformed escape is refused by the router while it decodes the route parameter.
      const malformed = await call(method, `/files/${canary}%zz`, user, 'x');
      expect(malformed.status).toBe(400);
      expect(malformed.body).toEqual({ error: expect.any(String) });
      expect(tree(dataDir)).toEqual(before);
      for (const folder of [filesDir, dataDir, dirname(dataDir), tmpdir(), '/', '/tmp']) {
        expect(existsSync(join(folder, canary))).toBe(false);
      }
      expect(existsSync(onDisk(user))).toBe(false);
    });

    it('accepts a path of exactly 1024 characters', async () => {
      const path = `${'a'.repeat(200)}/`.repeat(5) + 'b'.repeat(19);
      expect(path).toHaveLength(1024);
      expect(statusAndBody(await call('PUT', `/files/${path}`, user, 'deep'))).toEqual({
        status: 201,
        body: { path, size: 4 },
      });
      expect((await call('DELETE', `/files/${path}`, user)).status).toBe(204);
    });
  });

  describe('symlinks are never followed out of the user folder', () => {
    let outside: string;

    beforeAll(async () => {
      expect((await call('PUT', '/files/secret.txt', 'link-victim', 'victim only')).status).toBe(
        201,
      );
      expect((await call('PUT', '/files/own/file.txt', 'linker', 'mine')).status).toBe(201);
      outside = mkdtempSync(join(tmpdir(), 'filesystem-e2e-outside-'));
      writeFileSync(join(outside, 'passwd'), 'outside');
      const linker = onDisk('linker');
      symlinkSync(onDisk('link-victim', 'secret.txt'), join(linker, 'to-victim-file'));
      symlinkSync(onDisk('link-victim'), join(linker, 'to-victim-folder'));
      symlinkSync('/etc', join(linker, 'etc'));
      symlinkSync('/etc/passwd', join(linker, 'own', 'passwd'));
      symlinkSync(outside, join(linker, 'outside'));
      symlinkSync('file.txt', join(linker, 'own', 'same-folder-link'));
      symlinkSync(onDisk('link-victim'), onDisk('root-linker'));
    });

    afterAll(() => rmSync(outside, { recursive: true, force: true }));

    it.each([
      ['linker', '/files/to-victim-file'],
      ['linker', '/files/to-victim-folder/secret.txt'],
      ['linker', '/files/etc/passwd'],
      ['linker', '/files/etc/hostname'],
      ['linker', '/files/own/passwd'],
      ['linker', '/files/outside/passwd'],
      ['linker', '/files/own/same-folder-link'],
      ['root-linker', '/files/secret.txt'],
    ])('%s GET %s is 404', async (user, path) => {
      expect(statusAndBody(await call('GET', path, user))).toEqual({
        status: 404,
        body: NOT_FOUND,
      });
    });

    it.each([
      ['linker', '/files/to-victim-file'],
      ['linker', '/files/to-victim-folder/secret.txt'],
      ['linker', '/files/to-victim-folder/planted.txt'],
      ['linker', '/files/outside/passwd'],
      ['linker', '/files/outside/planted.txt'],
      ['root-linker', '/files/secret.txt'],
      ['root-linker', '/files/planted.txt'],
    ])('%s cannot write or delete through %s (404)', async (user, path) => {
      const before = { victim: tree(onDisk('link-victim')), outside: tree(outside) };
      expect(statusAndBody(await call('PUT', path, user, 'overwritten'))).toEqual({
        status: 404,
        body: { error: 'path not found' },
      });
      expect(statusAndBody(await call('DELETE', path, user))).toEqual({
        status: 404,
        body: NOT_FOUND,
      });
      expect({ victim: tree(onDisk('link-victim')), outside: tree(outside) }).toEqual(before);
      expect(readFileSync(onDisk('link-victim', 'secret.txt'), 'utf8')).toBe('victim only');
      expect(readFileSync(join(outside, 'passwd'), 'utf8')).toBe('outside');
    });

    it('lists no symlink and nothing behind one', async () => {
      expect((await call('GET', '/files', 'linker')).body).toEqual({
        files: [{ path: 'own/file.txt', size: 4 }],
      });
      expect((await call('GET', '/files', 'root-linker')).body).toEqual({ files: [] });
    });
  });

  describe('limits', () => {
    it('stores a file of exactly FS_MAX_FILE_BYTES', async () => {
      expect(
        statusAndBody(await call('PUT', '/files/max.bin', 'limits', Buffer.alloc(MAX_FILE, 9))),
      ).toEqual({
        status: 201,
        body: { path: 'max.bin', size: MAX_FILE },
      });
    });

    it('refuses a larger file with 413 from its Content-Length, storing nothing', async () => {
      const response = await call('PUT', '/files/big.bin', 'limits', Buffer.alloc(MAX_FILE + 1));
      expect(statusAndBody(response)).toEqual({ status: 413, body: FILE_TOO_LARGE });
      expect(existsSync(onDisk('limits', 'big.bin'))).toBe(false);
    });

    it('refuses a declared size over the file limit at once, without waiting for the bytes', async () => {
      const response = await sendRawPartial(service.url, {
        path: '/files/huge.bin',
        headers: as('limits'),
        declaredBytes: 50 * 1024 * 1024,
        sentBytes: 16,
      });
      expect(statusAndBody(response)).toEqual({ status: 413, body: FILE_TOO_LARGE });
      // It will not read the rest of an upload it refused: the connection ends with the answer.
      expect(response.headers['connection']).toBe('close');
      expect(existsSync(onDisk('limits', 'huge.bin'))).toBe(false);
    });

    it('refuses a larger chunked upload with 413 while it streams, storing nothing', async () => {
      const chunks = Array.from({ length: 5 }, () => Buffer.alloc(205, 1));
      expect(statusAndBody(await putChunked('/files/big.bin', 'limits', chunks))).toEqual({
        status: 413,
        body: FILE_TOO_LARGE,
      });
      const flood = Array.from({ length: 64 }, () => Buffer.alloc(1024, 2));
      expect(statusAndBody(await putChunked('/files/flood.bin', 'limits', flood))).toEqual({
        status: 413,
        body: FILE_TOO_LARGE,
      });
      await eventually(() => readdirSync(uploadsDir).length === 0);
      expect(readdirSync(uploadsDir)).toEqual([]);
      expect(readdirSync(onDisk('limits'))).toEqual(['max.bin']);
    });

    it('keeps the old file when a replacement is too large', async () => {
      const response = await call('PUT', '/files/max.bin', 'limits', Buffer.alloc(MAX_FILE + 1));
      expect(statusAndBody(response)).toEqual({ status: 413, body: FILE_TOO_LARGE });
      expect(readFileSync(onDisk('limits', 'max.bin')).equals(Buffer.alloc(MAX_FILE, 9))).toBe(
        true,
      );
    });

    it('refuses with 413 what would pass FS_MAX_USER_BYTES, counting a replaced file once', async () => {
      const user = 'quota';
      for (const name of ['1', '2', '3', '4']) {
        expect((await call('PUT', `/files/q/${name}`, user, Buffer.alloc(1000))).status).toBe(201);
      }
      // 4000 of 4096 bytes used.
      expect(statusAndBody(await call('PUT', '/files/q/5', user, Buffer.alloc(97)))).toEqual({
        status: 413,
        body: QUOTA_EXCEEDED,
      });
      expect(
        statusAndBody(await putChunked('/files/q/5', user, [Buffer.alloc(50), Buffer.alloc(47)])),
      ).toEqual({
        status: 413,
        body: QUOTA_EXCEEDED,
      });
      expect(existsSync(onDisk(user, 'q', '5'))).toBe(false);
      expect((await call('PUT', '/files/q/5', user, Buffer.alloc(96))).status).toBe(201);
      // Full: a same-size replacement fits, a larger one does not and leaves the old file.
      expect(statusAndBody(await call('PUT', '/files/q/1', user, Buffer.alloc(1000, 3)))).toEqual({
        status: 200,
        body: { path: 'q/1', size: 1000 },
      });
      expect(statusAndBody(await call('PUT', '/files/q/1', user, Buffer.alloc(1001)))).toEqual({
        status: 413,
        body: QUOTA_EXCEEDED,
      });
      expect(readFileSync(onDisk(user, 'q', '1')).equals(Buffer.alloc(1000, 3))).toBe(true);
      // Deleting frees the space again.
      expect((await call('DELETE', '/files/q/2', user)).status).toBe(204);
      expect((await call('PUT', '/files/q/6', user, Buffer.alloc(1000))).status).toBe(201);
      const listed = (await call('GET', '/files', user)).body as { files: Array<{ size: number }> };
      expect(listed.files.reduce((sum, file) => sum + file.size, 0)).toBe(4096);
    });

    it('leaves nothing behind when the caller drops the connection mid-upload', async () => {
      await sendRawThenDrop(service.url, {
        path: '/files/dropped.bin',
        headers: as('dropper'),
        declaredBytes: 1000,
        sentBytes: 500,
      });
      await eventually(() => readdirSync(uploadsDir).length === 0);
      expect(readdirSync(uploadsDir)).toEqual([]);
      expect(existsSync(onDisk('dropper', 'dropped.bin'))).toBe(false);
      expect((await call('GET', '/files', 'dropper')).body).toEqual({ files: [] });
      // The server is fine afterwards.
      expect((await call('PUT', '/files/after.bin', 'dropper', 'ok')).status).toBe(201);
    });

    it('never lets concurrent uploads of one user pass the quota together', async () => {
      const user = 'racer';
      const uploads = Array.from({ length: 8 }, (_, index) =>
        index % 2 === 0
          ? call('PUT', `/files/r/${index}`, user, Buffer.alloc(1000, index))
          : putChunked(`/files/r/${index}`, user, [
              Buffer.alloc(500, index),
              Buffer.alloc(500, index),
            ]),
      );
      const responses = await Promise.all(uploads);
      const created = responses.filter((response) => response.status === 201);
      const refused = responses.filter((response) => response.status === 413);
      expect([created.length, refused.length]).toEqual([4, 4]);
      for (const response of refused) expect(response.body).toEqual(QUOTA_EXCEEDED);
      const onDiskBytes = Object.values(tree(onDisk(user)))
        .filter((entry): entry is number => typeof entry === 'number')
        .reduce((sum, size) => sum + size, 0);
      expect(onDiskBytes).toBe(4000);
      expect(onDiskBytes).toBeLessThanOrEqual(MAX_USER);
      const listed = (await call('GET', '/files', user)).body as { files: unknown[] };
      expect(listed.files).toHaveLength(4);
    });

    it('refuses a declared size over what is left of the quota at once', async () => {
      // `racer` has 4000 of 4096 bytes.
      const response = await sendRawPartial(service.url, {
        path: '/files/r/more',
        headers: as('racer'),
        declaredBytes: 97,
        sentBytes: 10,
      });
      expect(statusAndBody(response)).toEqual({ status: 413, body: QUOTA_EXCEEDED });
      expect(response.headers['connection']).toBe('close');
      expect(existsSync(onDisk('racer', 'r', 'more'))).toBe(false);
    });
  });

  it('refuses to start when a limit is not a whole number, naming the variable', async () => {
    const result = await runServiceToExit({
      main,
      env: {
        INTERNAL_SERVICE_TOKEN: token,
        FILESYSTEM_SERVER_PORT: '0',
        DATA_DIR: dataDir,
        FS_MAX_USER_BYTES: '100MB',
      },
    });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      'configuration error: FS_MAX_USER_BYTES must be a whole number between 1 and 1125899906842624',
    );
  });
});
