/**
 * Runs async work one at a time per key (here: per user), in arrival order, within this
 * process. Different keys never wait for each other. Holds no memory for idle keys.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `work` once every earlier `run` of the same key has settled; resolves with its result. */
  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
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
    }
  }

  /** How many keys have work running or queued (for tests). */
  get activeKeys(): number {
    return this.tails.size;
  }
}
