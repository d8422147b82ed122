import { PasswordHasher } from './password-hasher';

describe(PasswordHasher.name, () => {
  const sut = new PasswordHasher();

  it('verifies the password it hashed, and nothing else', async () => {
    const stored = await sut.hash('correct horse battery');
    expect(stored).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(stored).not.toContain('correct horse battery');
    await expect(sut.verify('correct horse battery', stored)).resolves.toBe(true);
    await expect(sut.verify('correct horse batterz', stored)).resolves.toBe(false);
    await expect(sut.verify('', stored)).resolves.toBe(false);
  });

  it('salts every hash', async () => {
    expect(await sut.hash('same password here')).not.toEqual(await sut.hash('same password here'));
  });

  it('says false, after the same work, when there is no stored hash', async () => {
    await expect(sut.verify('any password at all', undefined)).resolves.toBe(false);
  });

  it('treats a composed and a decomposed accent as the same password', async () => {
    const stored = await sut.hash('caf\u00e9 au lait!!');
    await expect(sut.verify('cafe\u0301 au lait!!', stored)).resolves.toBe(true);
  });
});
