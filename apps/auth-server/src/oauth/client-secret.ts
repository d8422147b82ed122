import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The SHA-256 of a client secret. A fast hash suits secrets of 256 random bits: nobody can
 * search that space, however fast each guess (a password would need scrypt instead).
 */
export function hashClientSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** A digest that matches no secret, compared against when a client has none. */
const NO_SECRET = createHash('sha256').update(randomBytes(32)).digest();

/**
 * The digests of the secrets one client may present (the current one and, during a rotation,
 * the next one). The secrets themselves are not kept.
 */
export class ClientSecretDigests {
  private readonly digests: readonly Buffer[];

  constructor(digests: readonly Buffer[]) {
    this.digests = digests.map((digest) => Buffer.from(digest));
  }

  /** Digests of `secrets`, the `undefined` ones left out. */
  static of(...secrets: ReadonlyArray<string | undefined>): ClientSecretDigests {
    return new ClientSecretDigests(
      secrets.filter((secret): secret is string => secret !== undefined).map(hashClientSecret),
    );
  }

  /** How many secrets are accepted: 0 (the client cannot authenticate), 1, or 2 in a rotation. */
  get count(): number {
    return this.digests.length;
  }

  /**
   * True when `presented` is one of the secrets. Digests of equal length are compared in
   * constant time, every one of them whatever the first gave, so neither the length of the
   * presented secret nor which secret matched shows in the time taken.
   */
  matches(presented: string): boolean {
    const digest = hashClientSecret(presented);
    let matched = false;
    for (const candidate of this.digests.length > 0 ? this.digests : [NO_SECRET]) {
      // The comparison comes first: every candidate is compared, whatever matched before.
      matched = timingSafeEqual(digest, candidate) || matched;
    }
    return matched && this.digests.length > 0;
  }
}
