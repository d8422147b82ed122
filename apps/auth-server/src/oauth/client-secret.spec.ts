import { createHash, randomBytes } from 'node:crypto';
import { ClientSecretDigests, hashClientSecret } from './client-secret';

describe(hashClientSecret.name, () => {
  it('is the SHA-256 of the secret', () => {
    const secret = randomBytes(32).toString('hex');
    expect(hashClientSecret(secret)).toEqual(createHash('sha256').update(secret).digest());
  });
});

describe(ClientSecretDigests.name, () => {
  const current = randomBytes(32).toString('base64url');
  const next = randomBytes(32).toString('base64url');

  it('accepts the current secret and, during a rotation, the next one', () => {
    const sut = ClientSecretDigests.of(current, next);
    expect(sut.count).toBe(2);
    expect(sut.matches(current)).toBe(true);
    expect(sut.matches(next)).toBe(true);
  });

  it('refuses anything else, whatever its length, without throwing', () => {
    const sut = ClientSecretDigests.of(current, undefined);
    expect(sut.count).toBe(1);
    for (const wrong of [next, '', 'x', current.slice(0, -1), `${current}x`, 'a'.repeat(10_000)]) {
      expect(sut.matches(wrong)).toBe(false);
    }
  });

  it('refuses everything when no secret is configured', () => {
    const sut = ClientSecretDigests.of(undefined, undefined);
    expect(sut.count).toBe(0);
    expect(sut.matches('')).toBe(false);
    expect(sut.matches(current)).toBe(false);
  });

  it('keeps digests only, never the secrets', () => {
    const sut = ClientSecretDigests.of(current, next);
    const kept = JSON.stringify(sut) + JSON.stringify(Object.values(sut));
    for (const secret of [current, next]) {
      expect(kept).not.toContain(secret);
      expect(kept).not.toContain(Buffer.from(secret).toString('hex'));
      expect(kept).not.toContain(Buffer.from(secret).toString('base64'));
    }
  });
});
