import {
  HttpStatus,
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { HttpError } from '@zt/service-chassis';
import { createHash, randomUUID } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import {
  type FileHandle,
  lstat,
  mkdir,
  open,
  readdir,
  readlink,
  realpath,
  rename,
  rm,
  rmdir,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { type FilePath, isValidSegment } from '@zt/contracts';
import { FILES_OPTIONS, type FilesOptions, UPLOADS_FOLDER, WRITES_FOLDER } from './files.constants';
import { hasCode, syncFolder } from './fs-utils';
import { KeyedLock, KeyedLockQueueFullError } from './keyed-lock';
import { type Usage, UsageTracker } from './usage-tracker';
import {
  type IntentRecord,
  type SettledWriteRecord,
  type WriteDetails,
  WriteJournal,
  type WriteRecord,
  type WriteRecordPage,
} from './write-journal';

/** One file of a user, as listed. */
export interface FileEntry {
  /** Its path relative to the user's folder, segments joined by `/`. */
  readonly path: string;
  /** Its size in bytes. */
  readonly size: number;
}

/** The outcome of a stored upload. */
export interface WriteResult {
  /** True when the file did not exist before (201), false when it was replaced (200). */
  readonly created: boolean;
  /** Bytes stored. */
  readonly size: number;
  /**
   * True when this repeats the answer of an earlier write with the same write id: nothing
   * was stored now.
   */
  readonly replayed: boolean;
}

/** A file opened for reading: its bytes and how many there are. */
export interface OpenedFile {
  readonly stream: Readable;
  readonly size: number;
}

/** What {@link receive} stored. */
interface Received {
  readonly size: number;
  /** SHA-256 of the bytes, lowercase hex. */
  readonly sha256: string;
  /** The stored file's inode, in decimal. */
  readonly inode: string;
}

/** What a path leads to inside a user's folder, found without following any symlink. */
type Lookup =
  | { readonly kind: 'file'; readonly size: number }
  | { readonly kind: 'not-a-file' }
  /** `foldersFound`: how many of the path's parent folders exist already. */
  | { readonly kind: 'absent'; readonly foldersFound: number }
  | { readonly kind: 'parent-is-file' }
  | { readonly kind: 'symlink' };

const DIRECTORY_MODE = 0o700;
const FILE_MODE = 0o600;

/**
 * Writes and deletes of one user that may run or wait at once; beyond, 429 at once. A caller
 * that floods one user's queue would otherwise push every queued write past the caller's
 * timeout (and open its circuit breaker for all users).
 */
const MAX_QUEUED_WRITES_PER_USER = 16;
/** File-system calls one listing or usage walk may have in flight (the pool has 4 threads). */
const WALK_CONCURRENCY = 4;
/** Users whose usage is remembered; beyond, the least recently written is walked again later. */
const REMEMBERED_USAGES = 100_000;

/**
 * Per-user file storage under `<dataDir>/<user_id>/`.
 *
 * - Symlinks are never followed: every component is checked with `lstat`, files are opened
 *   with `O_NOFOLLOW`, and (on Linux) the opened file's real path must lie inside the
 *   user's folder. A symlink anywhere on the way is answered like a missing file (404).
 * - Uploads are received into `<dataDir>/.uploads/` and renamed into place once complete and
 *   flushed: a failed or aborted upload leaves nothing behind, and a replacement is atomic.
 * - Writes and deletes of one user run one at a time (in this process), so the quota check
 *   and the write it allows cannot interleave with another write of the same user.
 * - A write may carry a write id: its outcome is then kept in the {@link WriteJournal}, so that
 *   a caller that lost the answer can learn it for certain (and fence the write off).
 */
@Injectable()
export class FilesService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(FilesService.name);
  private readonly writes = new KeyedLock(MAX_QUEUED_WRITES_PER_USER);
  private readonly usage = new UsageTracker(REMEMBERED_USAGES, (userId) =>
    measureUsage(this.userRoot(userId)),
  );
  private readonly uploadsDir: string;
  private readonly journal: WriteJournal;

  constructor(@Inject(FILES_OPTIONS) private readonly options: FilesOptions) {
    this.uploadsDir = join(options.dataDir, UPLOADS_FOLDER);
    this.journal = new WriteJournal({
      folder: join(options.dataDir, WRITES_FOLDER),
      retentionDays: options.writeJournalDays,
      inodeAt: (userId, path) => inodeOf(this.userRoot(userId), path.split('/')),
    });
  }

  /** Runs a write or delete of `userId` after the ones before it; 429 when too many wait. */
  private async oneAtATime<T>(userId: string, work: () => Promise<T>): Promise<T> {
    try {
      return await this.writes.run(userId, work);
    } catch (error) {
      if (error instanceof KeyedLockQueueFullError) {
        throw new HttpError(
          HttpStatus.TOO_MANY_REQUESTS,
          'too many writes in progress for this user',
        );
      }
      throw error;
    }
  }

  async onModuleInit(): Promise<void> {
    await mkdir(this.options.dataDir, { recursive: true, mode: DIRECTORY_MODE });
    // First: while interrupted uploads are still here, their inodes cannot have been reused,
    // so the journal can tell a write renamed into place from one that was not.
    await this.journal.open();
    // Whatever is left here was interrupted by a crash: it never became anyone's file.
    await rm(this.uploadsDir, { recursive: true, force: true });
    await mkdir(this.uploadsDir, { mode: DIRECTORY_MODE });
  }

  onModuleDestroy(): void {
    this.journal.close();
  }

  /** Resolves when a file can be created and removed in the data folder (the health check). */
  async checkWritable(): Promise<void> {
    const probe = join(this.uploadsDir, `health-${randomUUID()}`);
    await writeFile(probe, '', { flag: 'wx', mode: FILE_MODE });
    await rm(probe);
  }

  /**
   * Every file of `userId`, recursively, sorted by path; symlinks and their targets left out.
   * @param cancelled aborted when the caller has gone (its deadline passed): the walk stops
   *   rather than keep the thread pool busy for nobody, so a retried listing does not add
   *   to the one it replaces.
   */
  async list(userId: string, cancelled?: AbortSignal): Promise<FileEntry[]> {
    const root = this.userRoot(userId);
    if (!(await lstatOrUndefined(root))?.isDirectory()) return [];
    const files: FileEntry[] = [];
    await walkFiles(
      root,
      [],
      (segments, size) => {
        // Names no request could use (made outside this server) are not listed.
        if (segments.every(isValidSegment)) files.push({ path: segments.join('/'), size });
      },
      undefined,
      cancelled,
    );
    return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /**
   * Opens a file of `userId` for reading.
   * @throws HttpError 404 when there is no regular file at `path`, or a symlink is on the way.
   */
  async open(userId: string, path: FilePath): Promise<OpenedFile> {
    const root = this.userRoot(userId);
    if ((await lookup(root, path.segments)).kind !== 'file') throw fileNotFound();
    let handle: FileHandle;
    try {
      // O_NONBLOCK: a FIFO swapped in since the lookup must not hang the open (fstat refuses it).
      handle = await open(
        join(root, ...path.segments),
        constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
      );
    } catch (error) {
      // ELOOP: the file was replaced by a symlink since the lookup.
      if (hasCode(error, 'ENOENT', 'ENOTDIR', 'ELOOP', 'EISDIR')) throw fileNotFound();
      throw error;
    }
    try {
      const stats = await handle.stat();
      if (!stats.isFile() || !(await openedInside(handle, root))) throw fileNotFound();
      return { stream: handle.createReadStream(), size: stats.size };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /**
   * Stores `body` as the file at `path` of `userId`, creating missing folders.
   * @param declaredBytes the request's `Content-Length`, when it has one: refused at once
   *   when over a limit, before a byte is read.
   * @param writeId the caller's write id, when it wants the outcome journaled. A write id
   *   already applied with the same path and bytes is answered again (`replayed`), storing
   *   nothing; refusals before the upload is complete journal nothing.
   * @throws HttpError 413 when the file or the user's total would pass its limit (nothing is
   *   stored); 409 when a parent on the path is a file or the path is a folder, when the
   *   write id was aborted, or when it was used for another path or other bytes; 404 when a
   *   symlink is on the way.
   */
  async write(
    userId: string,
    path: FilePath,
    body: Readable,
    declaredBytes: number | undefined,
    writeId?: string,
  ): Promise<WriteResult> {
    const { maxFileBytes, maxPathDepth } = this.options;
    if (path.segments.length > maxPathDepth) {
      throw new HttpError(HttpStatus.BAD_REQUEST, `path has more than ${maxPathDepth} segments`);
    }
    if (declaredBytes !== undefined && declaredBytes > maxFileBytes)
      throw fileTooLarge(maxFileBytes);
    return this.oneAtATime(userId, async () => {
      const earlier = writeId === undefined ? undefined : await this.journal.read(userId, writeId);
      if (earlier) return this.replay(userId, earlier, path, body);
      return this.store(userId, path, body, declaredBytes, writeId);
    });
  }

  /**
   * The definitive outcome of `writeId` for `userId`. An unknown id is recorded as aborted
   * first, so that a write with it can never land afterwards (the fence).
   */
  async resolveWrite(userId: string, writeId: string): Promise<SettledWriteRecord> {
    return this.oneAtATime(userId, async () => {
      const record = await this.journal.read(userId, writeId);
      switch (record?.outcome) {
        case undefined:
          return this.journal.abort(userId, writeId);
        case 'intent':
          return this.journal.settleIntent(userId, record);
        case 'applied':
        case 'aborted':
          return record;
      }
    });
  }

  /** Up to `limit` journal records of `userId` after write id `after`, sorted by write id. */
  listWrites(userId: string, after: string | undefined, limit: number): Promise<WriteRecordPage> {
    return this.journal.list(userId, after, limit);
  }

  /** A write with a known write id; the caller holds the user's lock. */
  private async replay(
    userId: string,
    earlier: WriteRecord,
    path: FilePath,
    body: Readable,
  ): Promise<WriteResult> {
    // An intent is found here only when recording a failed write as aborted failed too.
    const record =
      earlier.outcome === 'intent' ? await this.journal.settleIntent(userId, earlier) : earlier;
    if (record.outcome === 'aborted') throw new HttpError(HttpStatus.CONFLICT, 'write aborted');
    if (record.path !== path.path) throw writeIdReused();
    const { size, sha256 } = await digest(body, this.options.maxFileBytes);
    if (size !== record.size || sha256 !== record.sha256) throw writeIdReused();
    return { created: record.created, size, replayed: true };
  }

  /**
   * Checks the limits, receives the upload and renames it into place, journaling it when it
   * has a write id; the caller holds the user's lock.
   */
  private async store(
    userId: string,
    path: FilePath,
    body: Readable,
    declaredBytes: number | undefined,
    writeId: string | undefined,
  ): Promise<WriteResult> {
    const { maxFileBytes, maxUserBytes, maxUserEntries } = this.options;
    const root = this.userRoot(userId);
    const found = await lookup(root, path.segments);
    switch (found.kind) {
      case 'symlink':
        throw new HttpError(HttpStatus.NOT_FOUND, 'path not found');
      case 'parent-is-file':
        throw new HttpError(HttpStatus.CONFLICT, 'a parent folder on this path is a file');
      case 'not-a-file':
        throw new HttpError(HttpStatus.CONFLICT, 'a folder exists at this path');
      case 'file':
      case 'absent':
        break;
    }
    const usage = await this.usage.of(userId);
    const newFolders = found.kind === 'absent' ? path.segments.length - 1 - found.foldersFound : 0;
    const newEntries = found.kind === 'absent' ? newFolders + 1 : 0;
    if (usage.files + usage.folders + newEntries > maxUserEntries) {
      throw new HttpError(
        HttpStatus.PAYLOAD_TOO_LARGE,
        `entry quota of ${maxUserEntries} files and folders would be exceeded`,
      );
    }
    // A replaced file's bytes are freed by the replacement, so they do not count.
    const replacedBytes = found.kind === 'file' ? found.size : 0;
    const quotaLeft = Math.max(0, maxUserBytes - (usage.bytes - replacedBytes));
    if (declaredBytes !== undefined && declaredBytes > quotaLeft) {
      throw quotaExceeded(maxUserBytes);
    }
    const upload = join(this.uploadsDir, `${userId}.${randomUUID()}.part`);
    const received = await receive(body, upload, { maxFileBytes, quotaLeft, maxUserBytes });
    const created = found.kind === 'absent';
    const target = join(root, ...path.segments);
    const details: WriteDetails = { path: path.path, ...received, created };
    let intent: IntentRecord | undefined;
    try {
      if (writeId !== undefined) intent = await this.journal.intend(userId, writeId, details);
      usage.folders += await makeParents(root, path.segments);
      await rename(upload, target);
    } catch (error) {
      // While the record may still say intent, the upload keeps its inode from being reused
      // (which would fool the inode check that settles it); the next start removes it.
      if (writeId === undefined || (await this.abortAfterFailure(userId, writeId, details))) {
        await rm(upload, { force: true });
      }
      throw error;
    }
    usage.bytes += received.size - replacedBytes;
    if (created) usage.files += 1;
    if (intent) {
      // The file is in place: a failure from here must not record aborted (the intent is
      // settled by its inode instead). The name is flushed before the record says applied.
      await syncFolder(dirname(target));
      await this.journal.apply(userId, intent);
    }
    return { created, size: received.size, replayed: false };
  }

  /** Records a failed journaled write as aborted; false (logged) when that failed too. */
  private async abortAfterFailure(
    userId: string,
    writeId: string,
    details: WriteDetails,
  ): Promise<boolean> {
    try {
      await this.journal.abort(userId, writeId, details);
      return true;
    } catch (error) {
      this.logger.error(`could not record a failed write as aborted: ${(error as Error).message}`);
      return false;
    }
  }

  /**
   * Deletes a file of `userId`, then the folders that it leaves empty (up to, not including,
   * the user's folder).
   * @throws HttpError 404 when there is no regular file at `path`, or a symlink is on the way.
   */
  async remove(userId: string, path: FilePath): Promise<void> {
    return this.oneAtATime(userId, async () => {
      const root = this.userRoot(userId);
      const found = await lookup(root, path.segments);
      if (found.kind !== 'file') throw fileNotFound();
      const usage = await this.usage.of(userId);
      try {
        await unlink(join(root, ...path.segments));
      } catch (error) {
        if (hasCode(error, 'ENOENT', 'ENOTDIR')) throw fileNotFound();
        throw error;
      }
      usage.bytes -= found.size;
      usage.files -= 1;
      for (let depth = path.segments.length - 1; depth > 0; depth--) {
        try {
          await rmdir(join(root, ...path.segments.slice(0, depth)));
          usage.folders -= 1;
        } catch (error) {
          if (hasCode(error, 'ENOTEMPTY', 'EEXIST', 'ENOENT', 'ENOTDIR')) return;
          throw error;
        }
      }
    });
  }

  private userRoot(userId: string): string {
    // `userId` matched USER_ID_PATTERN (ActingUser): it starts with a letter or digit and
    // holds no `/`, so it names exactly one folder directly under the data folder.
    return join(this.options.dataDir, userId);
  }
}

/** Follows `segments` from `root` with `lstat`, stopping at the first symlink or non-folder. */
async function lookup(root: string, segments: readonly string[]): Promise<Lookup> {
  const rootStats = await lstatOrUndefined(root);
  if (!rootStats) return { kind: 'absent', foldersFound: 0 };
  if (!rootStats.isDirectory()) return { kind: 'symlink' };
  let current = root;
  for (const [index, segment] of segments.entries()) {
    current = join(current, segment);
    const stats = await lstatOrUndefined(current);
    if (!stats) return { kind: 'absent', foldersFound: index };
    if (stats.isSymbolicLink()) return { kind: 'symlink' };
    if (index === segments.length - 1) {
      return stats.isFile() ? { kind: 'file', size: stats.size } : { kind: 'not-a-file' };
    }
    if (!stats.isDirectory()) return { kind: 'parent-is-file' };
  }
  return { kind: 'not-a-file' };
}

/**
 * Creates the user's folder and the parents of `segments` that are missing, one by one.
 * @returns how many folders below the user's folder it created.
 */
async function makeParents(root: string, segments: readonly string[]): Promise<number> {
  let current = root;
  let created = 0;
  for (const folder of ['', ...segments.slice(0, -1)]) {
    current = folder === '' ? root : join(current, folder);
    try {
      await mkdir(current, { mode: DIRECTORY_MODE });
      if (folder !== '') created += 1;
    } catch (error) {
      if (!hasCode(error, 'EEXIST')) throw error;
      // Checked again because it may have changed since the lookup (outside this process).
      if (!(await lstat(current)).isDirectory()) {
        throw new HttpError(HttpStatus.NOT_FOUND, 'path not found');
      }
    }
  }
  return created;
}

/**
 * Writes `body` to a new file at `target`, counting bytes as they come and stopping with 413
 * at the first byte over a limit. The file is flushed to disk before this resolves; on any
 * failure it is removed. The body stream is never destroyed here, so the 413 answer can still
 * be sent on its connection.
 */
async function receive(
  body: Readable,
  target: string,
  limits: { maxFileBytes: number; quotaLeft: number; maxUserBytes: number },
): Promise<Received> {
  const handle = await open(
    target,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    FILE_MODE,
  );
  const hash = createHash('sha256');
  let size = 0;
  let stored = false;
  try {
    await eachChunk(body, async (chunk) => {
      size += chunk.length;
      if (size > limits.maxFileBytes) throw fileTooLarge(limits.maxFileBytes);
      if (size > limits.quotaLeft) throw quotaExceeded(limits.maxUserBytes);
      hash.update(chunk);
      await writeAll(handle, chunk);
    });
    await handle.sync();
    const { ino } = await handle.stat({ bigint: true });
    stored = true;
    return { size, sha256: hash.digest('hex'), inode: ino.toString() };
  } catch (error) {
    if (hasCode(error, 'ENOSPC', 'EDQUOT')) {
      throw new HttpError(HttpStatus.INSUFFICIENT_STORAGE, 'insufficient storage');
    }
    throw error;
  } finally {
    await handle.close();
    if (!stored) await rm(target, { force: true });
  }
}

/**
 * The size and SHA-256 of `body`, storing nothing (a repeated write is compared, not stored).
 * @throws HttpError 413 at the first byte past `maxFileBytes`.
 */
async function digest(
  body: Readable,
  maxFileBytes: number,
): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  await eachChunk(body, (chunk) => {
    size += chunk.length;
    if (size > maxFileBytes) throw fileTooLarge(maxFileBytes);
    hash.update(chunk);
  });
  return { size, sha256: hash.digest('hex') };
}

/**
 * Hands every chunk of `body` to `onChunk`, in order, without ever destroying the stream.
 * @throws HttpError 400 when the caller goes away mid-upload; whatever `onChunk` throws.
 */
async function eachChunk(
  body: Readable,
  onChunk: (chunk: Buffer) => void | Promise<void>,
): Promise<void> {
  const chunks = body.iterator({ destroyOnReturn: false }) as AsyncIterator<Buffer>;
  try {
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await chunks.next();
      } catch {
        // The caller went away mid-upload (connection reset or aborted).
        throw new HttpError(HttpStatus.BAD_REQUEST, 'upload was interrupted');
      }
      if (next.done) return;
      await onChunk(next.value);
    }
  } finally {
    await chunks.return?.();
  }
}

async function writeAll(handle: FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    offset += (await handle.write(chunk, offset, chunk.length - offset)).bytesWritten;
  }
}

/** What is under `root`: its regular files' bytes and count, and its folders (no symlink followed). */
async function measureUsage(root: string): Promise<Usage> {
  const usage: Usage = { bytes: 0, files: 0, folders: 0 };
  await walkFiles(
    root,
    [],
    (_segments, size) => {
      usage.bytes += size;
      usage.files += 1;
    },
    () => (usage.folders += 1),
  );
  return usage;
}

/**
 * Calls `visit` for every regular file under `folder` and `visitFolder` for every folder,
 * descending into folders, not symlinks. Up to {@link WALK_CONCURRENCY} file-system calls of
 * one walk are in flight at once: a tree of thousands of folders is walked several times
 * faster than one call at a time, and other requests still find the thread pool between them.
 */
async function walkFiles(
  folder: string,
  prefix: readonly string[],
  visit: (segments: string[], size: number) => void,
  visitFolder: () => void = () => undefined,
  cancelled?: AbortSignal,
): Promise<void> {
  const limited = limiter(WALK_CONCURRENCY);
  const slot = <T>(call: () => Promise<T>): Promise<T> =>
    limited(() => {
      cancelled?.throwIfAborted();
      return call();
    });
  const walk = async (current: string, segments: readonly string[]): Promise<void> => {
    let entries;
    try {
      entries = await slot(() => readdir(current, { withFileTypes: true }));
    } catch (error) {
      // Removed while we walked (a concurrent delete's cleanup): nothing there any more.
      if (hasCode(error, 'ENOENT', 'ENOTDIR')) return;
      throw error;
    }
    await Promise.all(
      entries.map(async (entry) => {
        const path = join(current, entry.name);
        if (entry.isDirectory()) {
          visitFolder();
          await walk(path, [...segments, entry.name]);
        } else if (entry.isFile()) {
          const stats = await slot(() => lstatOrUndefined(path));
          if (stats?.isFile()) visit([...segments, entry.name], stats.size);
        }
      }),
    );
  };
  await walk(folder, prefix);
}

/** Runs at most `concurrency` of the calls given to it at once, the others in arrival order. */
function limiter(concurrency: number): <T>(call: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async (call) => {
    if (running < concurrency) running += 1;
    // Else wait: a finishing call hands its place over (`running` stays as it is).
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await call();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running -= 1;
    }
  };
}

/**
 * True when the opened file really lies inside `root`: the kernel's name for the open file
 * (`/proc/self/fd/<fd>`) must start with the resolved user folder. Catches a folder on the way
 * swapped for a symlink between the lookup and the open. Without procfs (not Linux) the
 * `lstat` walk and `O_NOFOLLOW` stand alone.
 */
async function openedInside(handle: FileHandle, root: string): Promise<boolean> {
  let actual: string;
  try {
    actual = await readlink(`/proc/self/fd/${handle.fd}`);
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return true;
    throw error;
  }
  return actual.startsWith(`${await realpath(root)}${sep}`);
}

/**
 * The inode (decimal) of the regular file at `segments` under `root`, found with `lstat` only
 * (a symlink on the way or at the end is no file); undefined when there is none.
 */
async function inodeOf(root: string, segments: readonly string[]): Promise<string | undefined> {
  // Read back from the journal: checked again rather than trusted.
  if (!segments.every(isValidSegment)) return undefined;
  if ((await lookup(root, segments)).kind !== 'file') return undefined;
  try {
    const stats = await lstat(join(root, ...segments), { bigint: true });
    return stats.isFile() ? stats.ino.toString() : undefined;
  } catch (error) {
    if (hasCode(error, 'ENOENT', 'ENOTDIR')) return undefined;
    throw error;
  }
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    if (hasCode(error, 'ENOENT', 'ENOTDIR')) return undefined;
    throw error;
  }
}

function fileNotFound(): HttpError {
  return new HttpError(HttpStatus.NOT_FOUND, 'file not found');
}

function fileTooLarge(maxFileBytes: number): HttpError {
  return new HttpError(HttpStatus.PAYLOAD_TOO_LARGE, `file is larger than ${maxFileBytes} bytes`);
}

function quotaExceeded(maxUserBytes: number): HttpError {
  return new HttpError(
    HttpStatus.PAYLOAD_TOO_LARGE,
    `storage quota of ${maxUserBytes} bytes would be exceeded`,
  );
}

function writeIdReused(): HttpError {
  return new HttpError(HttpStatus.CONFLICT, 'write id used for a different write');
}
