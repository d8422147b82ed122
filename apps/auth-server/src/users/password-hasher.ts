import { Injectable } from '@nestjs/common';
import { randomBytes, scrypt, type ScryptOptions, timingSafeEqual } from 'node:crypto';

const PARAMETERS = { N: 2 ** 15, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
const MAX_MEMORY = 64 * 1024 * 1024;

function derive(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(
      password.normalize('NFC'),
      salt,
      KEY_LENGTH,
      { ...options, maxmem: MAX_MEMORY },
      (error, key) => (error ? reject(error) : resolve(key)),
    ),
  );
}

/**
 * Hashes passwords with scrypt (N=2^15, r=8, p=1, 16-byte salt), stored as
 * `scrypt$N$r$p$salt$hash` so the parameters can be raised later without breaking old hashes.
 */
@Injectable()
export class PasswordHasher {
  // Verified when an email is unknown, so that answering takes as long as for a known one.
  private readonly decoy = this.hash(randomBytes(16).toString('hex'));

  async hash(password: string): Promise<string> {
    const salt = randomBytes(16);
    const key = await derive(password, salt, PARAMETERS);
    const { N, r, p } = PARAMETERS;
    return ['scrypt', N, r, p, salt.toString('base64'), key.toString('base64')].join('$');
  }

  /** True when `password` matches `stored`; with no stored hash, spends the same time and says false. */
  async verify(password: string, stored: string | undefined): Promise<boolean> {
    const [scheme, N, r, p, salt, expected] = (stored ?? (await this.decoy)).split('$');
    if (scheme !== 'scrypt') return false;
    const key = await derive(password, Buffer.from(salt, 'base64'), {
      N: Number(N),
      r: Number(r),
      p: Number(p),
    });
    const matches = timingSafeEqual(key, Buffer.from(expected, 'base64'));
    return matches && stored !== undefined;
  }
}
