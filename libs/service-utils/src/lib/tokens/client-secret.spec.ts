import { randomBytes } from 'node:crypto';
import { clientSecretVariable, findClientSecretWeakness } from './client-secret';

describe(clientSecretVariable.name, () => {
  it.each([
    ['backend', 'BACKEND_CLIENT_SECRET'],
    ['auth-server', 'AUTH_SERVER_CLIENT_SECRET'],
    ['metrics-scraper', 'METRICS_SCRAPER_CLIENT_SECRET'],
  ])('%s -> %s', (clientId, variable) => {
    expect(clientSecretVariable(clientId)).toBe(variable);
  });
});

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
