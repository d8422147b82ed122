/** Injection token of the {@link FilesOptions} of {@link FilesModule}. */
export const FILES_OPTIONS = Symbol('FILES_OPTIONS');

/** Where files are kept and how much a user may keep. */
export interface FilesOptions {
  /** The service's data folder; each user's files live in `<dataDir>/<user_id>/`. */
  readonly dataDir: string;
  /** Largest file in bytes; 413 beyond. */
  readonly maxFileBytes: number;
  /** Largest total of one user's files in bytes; 413 beyond. */
  readonly maxUserBytes: number;
  /** Most files and folders one user may have; 413 beyond. */
  readonly maxUserEntries: number;
  /** Most segments in a file path; 400 beyond. */
  readonly maxPathDepth: number;
  /** Days a settled write journal record is kept. */
  readonly writeJournalDays: number;
}

/**
 * Folder of `dataDir` that receives uploads before they are renamed into place. A user id
 * cannot start with a dot, so no user's folder can ever be this one.
 */
export const UPLOADS_FOLDER = '.uploads';

/**
 * Folder of `dataDir` that holds the write journal, `<user_id>/<write_id>.json`. Like
 * {@link UPLOADS_FOLDER}, no user's folder can be this one; it is outside every user's folder,
 * so it counts toward no quota and is never listed.
 */
export const WRITES_FOLDER = '.writes';
