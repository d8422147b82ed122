/** What one user keeps, as counted toward the quotas. */
export interface Usage {
  /** Bytes of the user's regular files. */
  bytes: number;
  /** The user's regular files. */
  files: number;
  /** The folders below the user's folder (the user's folder itself not counted). */
  folders: number;
}

/**
 * Per-user usage, kept instead of walked: a user's tree is walked once, the first time its
 * usage is needed (a walk the entry quota bounds), and each write or delete then changes the
 * counts. Callers hold the user's write lock, so a walk and the changes never interleave. At
 * most `capacity` users are remembered; the least recently used is forgotten and walked again
 * when next needed.
 */
export class UsageTracker {
  private readonly known = new Map<string, Usage>();

  constructor(
    private readonly capacity: number,
    private readonly walk: (userId: string) => Promise<Usage>,
  ) {}

  /** The usage of `userId`, to read and change in place while its write lock is held. */
  async of(userId: string): Promise<Usage> {
    let usage = this.known.get(userId);
    if (usage) {
      // Map order is insertion order: moving the user to the end keeps the oldest first.
      this.known.delete(userId);
    } else {
      usage = await this.walk(userId);
    }
    this.known.set(userId, usage);
    if (this.known.size > this.capacity) {
      this.known.delete(this.known.keys().next().value as string);
    }
    return usage;
  }
}
