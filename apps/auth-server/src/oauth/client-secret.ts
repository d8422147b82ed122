import { findTokenWeakness } from '@zt/service-utils';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** The least entropy of a client secret, in bits, counted as if each character were random. */
export const MIN_CLIENT_SECRET_BITS = 256;

const HEX = /^[0-9A-Fa-f]+$/;
// base64url without padding: the same text form-encoded or not, so client_secret_basic gives
// the same secret whether a client form-encodes it first (RFC 6749 section 2.3.1) or not (curl -u).
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const GENERATE = '`openssl rand -hex 32`';

/**
 * Explains why `secret` cannot be a client secret, or `undefined` when it can. A secret is
 * hex (4 bits a character, so at least 64 characters) or unpadded base64url (6 bits a
 * character, so at least 43): at least {@link MIN_CLIENT_SECRET_BITS} bits when generated at
 * random, as `openssl rand -hex 32` does. The explanation never contains the secret.
 */
export function findClientSecretWeakness(secret: string): string | undefined {
  // The internal token's rules first: not empty, no placeholder, 12 distinct characters, ...
  const common = findTokenWeakness(secret);
  if (common) return common;
  let bitsPerCharacter: number;
  if (HEX.test(secret)) bitsPerCharacter = 4;
  else if (BASE64URL.test(secret)) bitsPerCharacter = 6;
  else return `must be hex or unpadded base64url (generate one with ${GENERATE})`;
  if (secret.length * bitsPerCharacter < MIN_CLIENT_SECRET_BITS) {
    const least = Math.ceil(MIN_CLIENT_SECRET_BITS / bitsPerCharacter);
    const alphabet = bitsPerCharacter === 4 ? 'hex' : 'base64url';
    return (
      `is shorter than ${MIN_CLIENT_SECRET_BITS} bits (${least} characters of ${alphabet}; ` +
      `generate one with ${GENERATE})`
    );
  }
  return undefined;
}

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
