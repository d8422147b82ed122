import { Logger } from '@nestjs/common';
import { base64url, SignJWT } from 'jose';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JwksConfig } from '../config/backend.config';
import { type JwksServer, startJwksServer } from '../testing/jwks-server';
import { closedPort } from '../testing/scripted-server';
import { generateSigningKey, signToken, type TestSigningKey } from '../testing/token-factory';
import { AuthUnavailableError } from './auth-unavailable.error';
import { UserTokenRejectedError } from './user-token-rejected.error';
import { UserTokenVerifier } from './user-token.verifier';

const USER_ID = '3f1c2b9e-7a41-4c55-9d0e-2b6f8a1c4d7e';
const JWKS: JwksConfig = { timeoutMs: 500, cooldownMs: 60_000, cacheMaxAgeMs: 600_000 };

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the token to be refused');
}

async function rejectedFor(promise: Promise<unknown>): Promise<string> {
  const error = await rejection(promise);
  if (error instanceof UserTokenRejectedError) return error.reason;
  throw error;
}

describe(UserTokenVerifier.name, () => {
  let key: TestSigningKey;
  let jwks: JwksServer;
  let logged: string;

  const verifierFor = (issuer: string, settings: Partial<JwksConfig> = {}, now?: () => Date) =>
    new UserTokenVerifier({ issuer, jwks: { ...JWKS, ...settings }, now });

  beforeAll(async () => {
    key = await generateSigningKey();
  });

  beforeEach(async () => {
    jwks = await startJwksServer([key.publicJwk]);
    logged = '';
    for (const level of ['log', 'warn', 'error'] as const) {
      jest.spyOn(Logger.prototype, level).mockImplementation((...args: unknown[]) => {
        logged += JSON.stringify(args);
      });
    }
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await jwks.close();
  });

  it('accepts a token of the auth server and returns the user it names', async () => {
    const sut = verifierFor(jwks.url);
    const token = await signToken(key, jwks.url, { subject: USER_ID, email: 'ada@example.com' });
    await expect(sut.verify(token)).resolves.toEqual({
      userId: USER_ID,
      email: 'ada@example.com',
    });
  });

  it('caches the keys: many tokens, one fetch', async () => {
    const sut = verifierFor(jwks.url);
    for (let i = 0; i < 5; i += 1) await sut.verify(await signToken(key, jwks.url));
    expect(jwks.fetches()).toBe(1);
  });

  describe('refuses', () => {
    it('a token signed with another algorithm, even one the key set publishes', async () => {
      const es256 = await generateSigningKey('ES256');
      jwks.keys = [key.publicJwk, es256.publicJwk];
      const sut = verifierFor(jwks.url);
      expect(await rejectedFor(sut.verify(await signToken(es256, jwks.url)))).toBe(
        'ERR_JOSE_ALG_NOT_ALLOWED',
      );
    });

    it('an HS256 token keyed with the public key (algorithm confusion), without fetching', async () => {
      const forged = await new SignJWT({ email: 'eve@example.com' })
        .setProtectedHeader({ alg: 'HS256', kid: key.kid })
        .setIssuer(jwks.url)
        .setAudience('backend')
        .setSubject(USER_ID)
        .setExpirationTime('5m')
        .sign(base64url.decode(key.publicJwk.x as string));
      const sut = verifierFor(jwks.url);
      expect(await rejectedFor(sut.verify(forged))).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
      expect(jwks.fetches()).toBe(0);
    });

    it('an unsigned token (alg none)', async () => {
      const header = base64url.encode(JSON.stringify({ alg: 'none' }));
      const payload = base64url.encode(
        JSON.stringify({ iss: jwks.url, aud: 'backend', sub: USER_ID, exp: 4102444800 }),
      );
      const sut = verifierFor(jwks.url);
      expect(await rejectedFor(sut.verify(`${header}.${payload}.`))).toBe(
        'ERR_JOSE_ALG_NOT_ALLOWED',
      );
      expect(jwks.fetches()).toBe(0);
    });

    it('another issuer', async () => {
      const sut = verifierFor(jwks.url);
      const token = await signToken(key, jwks.url, { issuer: 'http://evil.example' });
      expect(await rejectedFor(sut.verify(token))).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
    });

    it('another audience', async () => {
      const sut = verifierFor(jwks.url);
      const token = await signToken(key, jwks.url, { audience: 'billing' });
      expect(await rejectedFor(sut.verify(token))).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
    });

    it('an expired token', async () => {
      const sut = verifierFor(jwks.url);
      const token = await signToken(key, jwks.url, {
        expiresAt: Math.floor(Date.now() / 1000) - 60,
      });
      expect(await rejectedFor(sut.verify(token))).toBe('ERR_JWT_EXPIRED');
    });

    it('a token once the clock passes its exp (frozen clock)', async () => {
      let now = new Date();
      const sut = verifierFor(jwks.url, {}, () => now);
      const token = await signToken(key, jwks.url, {
        expiresAt: Math.floor(now.getTime() / 1000) + 900,
      });
      await expect(sut.verify(token)).resolves.toBeDefined();
      now = new Date(now.getTime() + 899_000);
      await expect(sut.verify(token)).resolves.toBeDefined();
      now = new Date(now.getTime() + 2_000);
      expect(await rejectedFor(sut.verify(token))).toBe('ERR_JWT_EXPIRED');
    });

    it('a token without exp', async () => {
      const sut = verifierFor(jwks.url);
      const token = await signToken(key, jwks.url, { expiresAt: null });
      expect(await rejectedFor(sut.verify(token))).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
    });

    it('a tampered payload or signature', async () => {
      const sut = verifierFor(jwks.url);
      const [header, payload, signature] = (
        await signToken(key, jwks.url, { subject: USER_ID })
      ).split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as object;
      const otherUser = base64url.encode(
        JSON.stringify({ ...claims, sub: 'aaaaaaaa-7a41-4c55-9d0e-2b6f8a1c4d7e' }),
      );
      expect(await rejectedFor(sut.verify(`${header}.${otherUser}.${signature}`))).toBe(
        'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
      );
      const flipped = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
      expect(await rejectedFor(sut.verify(`${header}.${payload}.${flipped}`))).toBe(
        'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
      );
    });

    it('a token signed by a key the auth server does not publish', async () => {
      const stranger = await generateSigningKey();
      const sut = verifierFor(jwks.url);
      const token = await signToken(stranger, jwks.url, { kid: key.kid });
      expect(await rejectedFor(sut.verify(token))).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    });

    it('a subject that is not a user id, or no subject', async () => {
      const sut = verifierFor(jwks.url);
      for (const subject of ['../other-user', '', 'a b']) {
        const token = await signToken(key, jwks.url, { subject });
        expect(await rejectedFor(sut.verify(token))).toMatch(/invalid_subject|ERR_JWT/);
      }
      const token = await signToken(key, jwks.url, { subject: undefined });
      expect(await rejectedFor(sut.verify(token))).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
    });

    it('a token without an email claim', async () => {
      const sut = verifierFor(jwks.url);
      const token = await signToken(key, jwks.url, { email: undefined });
      expect(await rejectedFor(sut.verify(token))).toBe('invalid_email');
    });

    it('garbage', async () => {
      const sut = verifierFor(jwks.url);
      for (const token of ['abc', 'a.b.c', '..', 'eyJhbGciOiJFZERTQSJ9.e30']) {
        expect(await rejectedFor(sut.verify(token))).toMatch(/^ERR_JW[ST]_INVALID$/);
      }
    });
  });

  describe('key rotation', () => {
    it('refetches the key set when a token names an unknown kid', async () => {
      const sut = verifierFor(jwks.url, { cooldownMs: 0 });
      await sut.verify(await signToken(key, jwks.url));
      expect(jwks.fetches()).toBe(1);

      const next = await generateSigningKey();
      jwks.keys = [next.publicJwk, key.publicJwk];
      await expect(sut.verify(await signToken(next, jwks.url))).resolves.toBeDefined();
      expect(jwks.fetches()).toBe(2);
      // Both keys are now cached.
      await sut.verify(await signToken(key, jwks.url));
      await sut.verify(await signToken(next, jwks.url));
      expect(jwks.fetches()).toBe(2);
    });

    it('refetches at most once per cooldown, so forged kids cannot hammer the auth server', async () => {
      const sut = verifierFor(jwks.url, { cooldownMs: 60_000 });
      await sut.verify(await signToken(key, jwks.url));
      for (let i = 0; i < 5; i += 1) {
        const forged = await signToken(key, jwks.url, { kid: `forged-${i}` });
        expect(await rejectedFor(sut.verify(forged))).toBe('ERR_JWKS_NO_MATCHING_KEY');
      }
      expect(jwks.fetches()).toBe(1);
    });
  });

  describe('when the key set cannot be fetched', () => {
    it('is unavailable (not a rejection) when no key was ever fetched: auth down', async () => {
      const sut = verifierFor(`http://127.0.0.1:${await closedPort()}`);
      const error = await rejection(sut.verify(await signToken(key, jwks.url)));
      expect(error).toBeInstanceOf(AuthUnavailableError);
      expect((error as AuthUnavailableError).reason).toBe('ECONNREFUSED');
    });

    it('is unavailable when the auth server answers 500, or not within the timeout', async () => {
      const sut = verifierFor(jwks.url, { timeoutMs: 200 });
      const token = await signToken(key, jwks.url);
      jwks.mode = 'error';
      expect(await rejection(sut.verify(token))).toBeInstanceOf(AuthUnavailableError);
      jwks.mode = 'hang';
      const started = Date.now();
      const error = await rejection(sut.verify(token));
      expect(error).toBeInstanceOf(AuthUnavailableError);
      expect((error as AuthUnavailableError).reason).toBe('ERR_JWKS_TIMEOUT');
      expect(Date.now() - started).toBeLessThan(JWKS.timeoutMs * 10);
      jwks.mode = 'serve';
      await expect(sut.verify(token)).resolves.toBeDefined();
    });

    it('keeps verifying with the keys it has when a refresh fails', async () => {
      const sut = verifierFor(jwks.url, { cacheMaxAgeMs: 50 });
      await sut.verify(await signToken(key, jwks.url));
      jwks.mode = 'error';
      await sleep(80);
      await expect(
        sut.verify(await signToken(key, jwks.url, { subject: USER_ID })),
      ).resolves.toMatchObject({ userId: USER_ID });
      expect(jwks.fetches()).toBe(2);
      // A stale cache does not make a bad token good.
      const expired = await signToken(key, jwks.url, { expiresAt: 1 });
      expect(await rejectedFor(sut.verify(expired))).toBe('ERR_JWT_EXPIRED');
      // One line for the outage, not one per request.
      expect(logged.match(/jwks_fetch_failed/g)).toHaveLength(1);
    });

    it('is unavailable for a token whose key it does not have yet', async () => {
      const sut = verifierFor(jwks.url, { cooldownMs: 0 });
      await sut.verify(await signToken(key, jwks.url));
      jwks.mode = 'error';
      const next = await generateSigningKey();
      expect(await rejection(sut.verify(await signToken(next, jwks.url)))).toBeInstanceOf(
        AuthUnavailableError,
      );
    });
  });

  it('never logs a token', async () => {
    const sut = verifierFor(jwks.url, { cacheMaxAgeMs: 1 });
    const token = await signToken(key, jwks.url);
    await sut.verify(token);
    jwks.mode = 'error';
    await sleep(5);
    await sut.verify(token);
    expect(logged).toContain('jwks_fetch_failed');
    expect(logged).not.toContain(token.split('.')[2]);
  });
});
