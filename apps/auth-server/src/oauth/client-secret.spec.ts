import { createHash, randomBytes } from 'node:crypto';
import { ClientSecretDigests, findClientSecretWeakness, hashClientSecret } from './client-secret';

describe(findClientSecretWeakness.name, () => {
  it.each([
    ['32 random bytes as hex', randomBytes(32).toString('hex')],
    ['32 random bytes as base64url', randomBytes(32).toString('base64url')],
    ['48 random bytes as base64url', randomBytes(48).toString('base64url')],
  ])('accepts %s', (_name, secret) => {
    expect(findClientSecretWeakness(secret)).toBeUndefined();
  });

  it.each([
    ['empty', '', 'is empty'],
    ['31 bytes of base64url (42 characters)', randomBytes(31).toString('base64url'), '256 bits'],
    ['hex of 31 bytes (62 characters)', randomBytes(31).toString('hex'), '256 bits'],
    [
      'base64 with + / or padding',
      `${randomBytes(32).toString('base64').slice(0, 40)}+/==`,
      'hex or unpadded base64url',
    ],
    ['a placeholder', `CHANGE_ME_${randomBytes(32).toString('base64url')}`, 'placeholder'],
    ['one character repeated', 'a'.repeat(64), 'distinct characters'],
    [
      'white space',
      `${randomBytes(24).toString('hex')} ${randomBytes(24).toString('hex')}`,
      'white space',
    ],
  ])('refuses %s', (_name, secret, problem) => {
    const weakness = findClientSecretWeakness(secret);
    expect(weakness).toContain(problem);
    if (secret) expect(weakness).not.toContain(secret);
  });
});

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
