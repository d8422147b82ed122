/** {@link KeyedLock.run} refused the work: its key already has the most work allowed queued. */
export class KeyedLockQueueFullError extends Error {
  constructor() {
    super('too much work queued for this key');
    this.name = 'KeyedLockQueueFullError';
  }
}

/**
 * Runs async work one at a time per key (here: per user), in arrival order, within this
 * process. Different keys never wait for each other. Holds no memory for idle keys. At most
 * `maxPerKey` runs of one key are running or waiting at once: a caller that floods one key
 * is refused at once rather than queued past every caller's deadline.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();
  private readonly counts = new Map<string, number>();

  constructor(private readonly maxPerKey = Number.POSITIVE_INFINITY) {}

  /**
   * Runs `work` once every earlier `run` of the same key has settled; resolves with its result.
   * @throws KeyedLockQueueFullError, without running `work`, when `maxPerKey` runs of the key
   *   are already running or waiting.
   */
  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const queued = this.counts.get(key) ?? 0;
    if (queued >= this.maxPerKey) throw new KeyedLockQueueFullError();
    this.counts.set(key, queued + 1);
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => current);
    this.tails.set(key, tail);
    await previous;
    try {
      return await work();
    } finally {
      release();
      // Only the last waiter removes the key, so a later arrival never skips the queue.
      if (this.tails.get(key) === tail) this.tails.delete(key);
      const left = (this.counts.get(key) ?? 1) - 1;
      if (left === 0) this.counts.delete(key);
      else this.counts.set(key, left);
    }
  }

  /** How many keys have work running or queued (for tests). */
  get activeKeys(): number {
    return this.tails.size;
  }
}
