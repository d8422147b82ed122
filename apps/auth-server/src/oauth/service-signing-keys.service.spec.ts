import { Logger } from '@nestjs/common';
import { exportJWK, generateKeyPair, importJWK, type JWK, jwtVerify, SignJWT } from 'jose';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OAuthModuleOptions } from './oauth.module-options';
import { ServiceSigningKeys } from './service-signing-keys.service';

const DAY_MS = 24 * 60 * 60 * 1000;
const START = new Date('2026-01-01T00:00:00Z');

describe(ServiceSigningKeys.name, () => {
  let dir: string;
  let file: string;
  let now: Date;
  const started: ServiceSigningKeys[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'service-keys-'));
    file = join(dir, 'keys.json');
    now = START;
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });

  afterEach(() => {
    for (const keys of started.splice(0)) keys.onApplicationShutdown();
    jest.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async () => {
    const options = { signingKeysFile: file, keyRotationDays: 30, now: () => now };
    const sut = new ServiceSigningKeys(options as unknown as OAuthModuleOptions);
    started.push(sut);
    await sut.onModuleInit();
    return sut;
  };
  const stored = () =>
    (JSON.parse(readFileSync(file, 'utf8')) as { keys: Array<Record<string, unknown>> }).keys;

  it('generates a key on first start, keeps it in a 0600 file, and signs with it after a restart', async () => {
    const first = await start();
    const kid = first.signing().kid;
    expect(first.publicKeys()).toEqual([
      { kty: 'OKP', crv: 'Ed25519', x: expect.any(String), kid, alg: 'EdDSA', use: 'sig' },
    ]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(stored()).toEqual([
      {
        privateJwk: expect.objectContaining({ d: expect.any(String) }),
        createdAt: START.toISOString(),
      },
    ]);
    const again = await start();
    expect(again.signing().kid).toBe(kid);
  });

  it('publishes public members only', async () => {
    const sut = await start();
    for (const key of sut.publicKeys())
      expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
  });

  it('replaces a key older than the rotation period and keeps the old one published until its tokens expired', async () => {
    const first = await start();
    const oldKid = first.signing().kid;
    const oldToken = await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', kid: oldKid })
      .sign(first.signing().key);

    now = new Date(START.getTime() + 30 * DAY_MS);
    await first.maintain();
    const newKid = first.signing().kid;
    expect(newKid).not.toBe(oldKid);
    expect(first.publicKeys().map((key) => key.kid)).toEqual([newKid, oldKid]);
    // A token the old key signed still verifies against what is published.
    const published = first.publicKeys().find((key) => key.kid === oldKid) as JWK;
    await expect(jwtVerify(oldToken, await importJWK(published, 'EdDSA'))).resolves.toBeDefined();

    // A restart in the overlap keeps both, and signs with the new one.
    now = new Date(now.getTime() + 659_000);
    const restarted = await start();
    expect(restarted.signing().kid).toBe(newKid);
    expect(restarted.publicKeys().map((key) => key.kid)).toEqual([newKid, oldKid]);

    // 10 minutes (the longest token) and a minute of skew after retirement, it is gone.
    now = new Date(START.getTime() + 30 * DAY_MS + 660_000);
    expect(restarted.publicKeys().map((key) => key.kid)).toEqual([newKid]);
    await restarted.maintain();
    expect(stored()).toHaveLength(1);
    expect((await start()).publicKeys().map((key) => key.kid)).toEqual([newKid]);
  });

  it('does not rotate a key younger than the rotation period', async () => {
    const sut = await start();
    const kid = sut.signing().kid;
    now = new Date(START.getTime() + 30 * DAY_MS - 1);
    await sut.maintain();
    expect(sut.signing().kid).toBe(kid);
    expect(sut.publicKeys()).toHaveLength(1);
  });

  it('refuses to start on a keys file that holds no Ed25519 private key', async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    writeFileSync(
      file,
      JSON.stringify({
        keys: [{ privateJwk: await exportJWK(pair.privateKey), createdAt: START.toISOString() }],
      }),
    );
    await expect(start()).rejects.toThrow(
      'service signing keys file: entry 1 is not an Ed25519 key',
    );
  });
});
