/** Injection token of the {@link FilesOptions}. */
export const FILES_OPTIONS = Symbol('FILES_OPTIONS');

/** The settings of the file routes. */
export interface FilesOptions {
  /** The price of one write in credits, as the decimal text sent to billing (e.g. `0.01`). */
  readonly fileWritePrice: string;
  /** The largest upload read into memory, in bytes; 413 beyond, before anything is charged. */
  readonly maxFileBytes: number;
  /**
   * The upload bytes held in memory at once, all users together (at least `maxFileBytes`);
   * 503 beyond, before anything is read or charged (see `UploadBudget`).
   */
  readonly uploadBudgetBytes: number;
  /** Age in seconds after which the resolver settles a hold its request left open. */
  readonly settleAfterSeconds: number;
  /** How often the resolver looks for such holds, in milliseconds. */
  readonly settleIntervalMs: number;
}
