import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { hasCode, syncFolder } from './fs-utils';
import { filesystemApi } from '@zt/contracts';

/** What a journaled write is about, known from its intent on. */
export interface WriteDetails {
  /** The file path, as answered (`FilePath.path`). */
  readonly path: string;
  /** Bytes of the upload. */
  readonly size: number;
  /** SHA-256 of the upload, lowercase hex. */
  readonly sha256: string;
  /** True when the write creates the file (201), false when it replaces one (200). */
  readonly created: boolean;
  /** The uploaded file's inode, in decimal (a string: exact beyond 2^53). */
  readonly inode: string;
}

interface RecordHead {
  readonly write_id: string;
  /** When the record reached its outcome, ISO 8601. */
  readonly at: string;
}

/** A write about to be renamed into place: its outcome is unknown until settled. */
export type IntentRecord = RecordHead & { readonly outcome: 'intent' } & WriteDetails;

/** A write whose file was stored. */
export type AppliedRecord = RecordHead & { readonly outcome: 'applied' } & WriteDetails;

/**
 * A write that was not stored and never will be (a PUT with its id gets 409). An id aborted
 * by a resolve before any write has no details (null).
 */
export type AbortedRecord = RecordHead & { readonly outcome: 'aborted' } & {
  readonly [K in keyof WriteDetails]: WriteDetails[K] | null;
};

/** What became of one write id of one user, as stored in `<folder>/<user_id>/<write_id>.json`. */
export type WriteRecord = IntentRecord | AppliedRecord | AbortedRecord;

/** A record whose outcome is final. */
export type SettledWriteRecord = AppliedRecord | AbortedRecord;

/** One page of a user's records, by write id. */
export interface WriteRecordPage {
  readonly records: WriteRecord[];
  /** The last write id of this page when more follow, else null. */
  readonly nextAfter: string | null;
}

/** How a {@link WriteJournal} is set up. */
export interface WriteJournalOptions {
  /** The journal's folder (one folder per user inside). */
  readonly folder: string;
  /** Days a settled record is kept, counted from its `at`. */
  readonly retentionDays: number;
  /**
   * The inode (decimal) of the regular file at `path` of `userId`, found without following a
   * symlink; undefined when there is none.
   */
  readonly inodeAt: (userId: string, path: string) => Promise<string | undefined>;
  /** The clock (tests freeze it). */
  readonly now?: () => Date;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const DIRECTORY_MODE = 0o700;
const FILE_MODE = 0o600;
const RECORD_FILE = /^([A-Za-z0-9_-]{1,64})\.json$/;
// Temp names start with a dot: no write id does, so a temp file never passes for a record.
const TEMP_FILE = /^\..*\.tmp$/;

const writeIdSchema = z.string().regex(filesystemApi.WRITE_ID_PATTERN);
const atSchema = z.string().datetime();
const detailsSchema = {
  path: z.string().min(1),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  created: z.boolean(),
  inode: z.string().regex(/^[0-9]+$/),
};
const recordSchema: z.ZodType<WriteRecord> = z.discriminatedUnion('outcome', [
  z
    .object({
      write_id: writeIdSchema,
      outcome: z.literal('intent'),
      ...detailsSchema,
      at: atSchema,
    })
    .strict(),
  z
    .object({
      write_id: writeIdSchema,
      outcome: z.literal('applied'),
      ...detailsSchema,
      at: atSchema,
    })
    .strict(),
  z
    .object({
      write_id: writeIdSchema,
      outcome: z.literal('aborted'),
      path: detailsSchema.path.nullable(),
      size: detailsSchema.size.nullable(),
      sha256: detailsSchema.sha256.nullable(),
      created: detailsSchema.created.nullable(),
      inode: detailsSchema.inode.nullable(),
      at: atSchema,
    })
    .strict(),
]);

/**
 * The write journal: for each user and write id, whether the write was applied or aborted,
 * so that a caller that lost the answer (timeout, crash) can learn the outcome for certain.
 *
 * - Each record is replaced atomically (temp file, `fsync`, rename, `fsync` of the folder):
 *   a reader sees the old record or the new one, and a record survives a power loss.
 * - Callers hold the user's write lock around a read and the save that depends on it.
 * - At {@link open}, records left at `intent` by a crash are settled by inode (see
 *   {@link settleIntent}); settled records older than `retentionDays` are removed then and
 *   once a day. Past that, a write id is unknown again (a resolve would fence it as aborted).
 */
export class WriteJournal {
  private readonly logger = new Logger(WriteJournal.name);
  private readonly now: () => Date;
  private pruneTimer: NodeJS.Timeout | undefined;
  private pruning: Promise<void> | undefined;

  constructor(private readonly options: WriteJournalOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Settles every `intent` left by a crash, drops temp files and expired records, then
   * schedules the daily expiry. Call before the upload folder is emptied: while an interrupted
   * upload is still there, its inode cannot belong to another file.
   */
  async open(): Promise<void> {
    await mkdir(this.options.folder, { recursive: true, mode: DIRECTORY_MODE });
    await this.sweep(true);
    this.pruneTimer = setInterval(() => void this.pruneLogged(), DAY_MS);
    this.pruneTimer.unref();
  }

  /** Stops the daily expiry. */
  close(): void {
    clearInterval(this.pruneTimer);
    this.pruneTimer = undefined;
  }

  /**
   * The record of `writeId` for `userId`, or undefined when there is none.
   * @throws Error when the stored record is not a valid record (never guessed).
   */
  async read(userId: string, writeId: string): Promise<WriteRecord | undefined> {
    let text: string;
    try {
      text = await readFile(this.recordFile(userId, writeId), 'utf8');
    } catch (error) {
      if (hasCode(error, 'ENOENT')) return undefined;
      throw error;
    }
    const parsed = recordSchema.safeParse(parseJson(text));
    if (!parsed.success || parsed.data.write_id !== writeId) {
      throw new Error(`invalid write journal record ${userId}/${writeId}`);
    }
    return parsed.data;
  }

  /** Records that the write `writeId` is about to be renamed into place. */
  intend(userId: string, writeId: string, details: WriteDetails): Promise<IntentRecord> {
    return this.save(userId, {
      write_id: writeId,
      outcome: 'intent',
      ...pick(details),
      at: this.stamp(),
    });
  }

  /** Records that the write of `intent` was stored. */
  apply(userId: string, intent: IntentRecord): Promise<AppliedRecord> {
    // Not flushed: after a power loss that takes it, the intent is settled by inode at boot,
    // to the same outcome (the rename was flushed before). Two fsyncs fewer on every write.
    return this.save(userId, { ...intent, outcome: 'applied', at: this.stamp() }, false);
  }

  /**
   * Records that `writeId` was not stored and never will be: with the details of the write
   * when there was one, else none (a fence set before any write).
   */
  abort(userId: string, writeId: string, details?: WriteDetails): Promise<AbortedRecord> {
    return this.save(userId, {
      write_id: writeId,
      outcome: 'aborted',
      ...(details ? pick(details) : NO_DETAILS),
      at: this.stamp(),
    });
  }

  /**
   * Settles an `intent` whose write was interrupted: `applied` when the file at its path has
   * the upload's inode (the rename happened), else `aborted`. Sound because an interrupted
   * upload keeps its inode taken until the record is settled (it stays in the upload folder).
   */
  async settleIntent(userId: string, intent: IntentRecord): Promise<SettledWriteRecord> {
    const inode = await this.options.inodeAt(userId, intent.path);
    return inode === intent.inode
      ? this.apply(userId, intent)
      : this.abort(userId, intent.write_id, intent);
  }

  /** Up to `limit` records of `userId` with a write id after `after`, sorted by write id. */
  async list(userId: string, after: string | undefined, limit: number): Promise<WriteRecordPage> {
    const ids = (await this.writeIdsOf(userId))
      .filter((id) => after === undefined || id > after)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const records: WriteRecord[] = [];
    for (const id of ids.slice(0, limit)) {
      // Expired since the folder was read: left out.
      const record = await this.read(userId, id);
      if (record) records.push(record);
    }
    return { records, nextAfter: ids.length > limit ? ids[limit - 1] : null };
  }

  /** Removes settled records older than `retentionDays`; runs once at a time. */
  prune(): Promise<void> {
    this.pruning ??= this.sweep(false).finally(() => (this.pruning = undefined));
    return this.pruning;
  }

  private async pruneLogged(): Promise<void> {
    try {
      await this.prune();
    } catch (error) {
      this.logger.error(`write journal expiry failed: ${(error as Error).message}`);
    }
  }

  /**
   * One pass over every record: expired settled records are removed; at boot also temp files
   * left by a crash, `intent` records (settled) and emptied user folders. Outside boot, a temp
   * file may be a save in progress, and a user folder may be about to receive one.
   */
  private async sweep(atBoot: boolean): Promise<void> {
    const cutoff = this.now().getTime() - this.options.retentionDays * DAY_MS;
    for (const userId of await childFolders(this.options.folder)) {
      const folder = join(this.options.folder, userId);
      let kept = 0;
      for (const name of await readdir(folder)) {
        if (TEMP_FILE.test(name) && atBoot) {
          await rm(join(folder, name), { force: true });
          continue;
        }
        const writeId = RECORD_FILE.exec(name)?.[1];
        if (writeId === undefined) {
          kept += 1;
          continue;
        }
        let record: WriteRecord | undefined;
        try {
          record = await this.read(userId, writeId);
        } catch (error) {
          // Kept for an operator to look at; its write id answers 500 rather than a guess.
          this.logger.error((error as Error).message);
          kept += 1;
          continue;
        }
        if (record?.outcome === 'intent') {
          if (atBoot) await this.settleIntent(userId, record);
          kept += 1;
        } else if (record && Date.parse(record.at) < cutoff) {
          await rm(join(folder, name), { force: true });
        } else if (record) {
          kept += 1;
        }
      }
      if (atBoot && kept === 0) await rmdir(folder);
    }
  }

  private async save<T extends WriteRecord>(userId: string, record: T, flush = true): Promise<T> {
    const folder = join(this.options.folder, userId);
    const madeFolder = await mkdir(folder, { recursive: true, mode: DIRECTORY_MODE });
    if (madeFolder !== undefined) await syncFolder(this.options.folder);
    const temp = join(folder, `.${record.write_id}.${randomUUID()}.tmp`);
    const handle = await open(
      temp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      FILE_MODE,
    );
    try {
      try {
        await handle.writeFile(`${JSON.stringify(record)}\n`);
        if (flush) await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.recordFile(userId, record.write_id));
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    if (flush) await syncFolder(folder);
    return record;
  }

  private async writeIdsOf(userId: string): Promise<string[]> {
    try {
      const names = await readdir(join(this.options.folder, userId));
      return names.flatMap((name) => RECORD_FILE.exec(name)?.[1] ?? []);
    } catch (error) {
      if (hasCode(error, 'ENOENT')) return [];
      throw error;
    }
  }

  private recordFile(userId: string, writeId: string): string {
    // Both matched their patterns (no `/`, no leading dot): one file in one user folder.
    return join(this.options.folder, userId, `${writeId}.json`);
  }

  private stamp(): string {
    return this.now().toISOString();
  }
}

const NO_DETAILS = { path: null, size: null, sha256: null, created: null, inode: null } as const;

/** Exactly the details, whatever else `details` holds (a record stores nothing more). */
function pick(details: WriteDetails): WriteDetails {
  const { path, size, sha256, created, inode } = details;
  return { path, size, sha256, created, inode };
}

/** The value of JSON `text`, or undefined when it is not JSON (then refused by the schema). */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

async function childFolders(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true });
  return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
}
