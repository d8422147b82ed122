import { Logger } from '@nestjs/common';
import type * as Jose from 'jose';
import { base64url, jwtVerify, SignJWT } from 'jose';
import type { JwksConfig } from '../config/backend.config';
import { type JwksServer, startJwksServer } from '../testing/jwks-server';
import { closedPort } from '@zt/test-kit';
import {
  KeySetUnavailableError,
  RETRY_FAILED_FETCH_AFTER_MS,
  TokenRejectedError,
} from '@zt/service-utils';
import { generateSigningKey, signToken, type TestSigningKey } from '../testing/token-factory';
import { UserTokenVerifier } from './user-token.verifier';
import { randomUUID } from 'node:crypto';

// jwtVerify counted: it is the signature check a remembered token skips.
jest.mock('jose', () => {
  const actual = jest.requireActual<typeof Jose>('jose');
  return { ...actual, jwtVerify: jest.fn(actual.jwtVerify) };
});
const signatureChecks = (): number => jest.mocked(jwtVerify).mock.calls.length;

const USER_ID = '3f1c2b9e-7a41-4c55-9d0e-2b6f8a1c4d7e';
// A fetch deadline far above a busy machine's answer; the tests of a hanging key server give
// their own (HANG_TIMEOUT_MS).
const JWKS: JwksConfig = { timeoutMs: 5_000, cooldownMs: 60_000, cacheMaxAgeMs: 600_000 };
/** Short enough to wait for, long enough for the answers that follow it on a busy machine. */
const HANG_TIMEOUT_MS = 1_000;

/**
 * Moves the clock `ms` forward. jose ages its key set by `Date.now()`, and so does the
 * verifier (`now`), so only `Date` is faked: the key server and the HTTP client keep their
 * real timers, and the test does not wait.
 */
function advanceClock(ms: number): void {
  jest.useFakeTimers({
    doNotFake: [
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
      'setTimeout',
      'clearTimeout',
    ],
    now: Date.now() + ms,
  });
}

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
  if (error instanceof TokenRejectedError) return error.reason;
  throw error;
}

describe(UserTokenVerifier.name, () => {
  let key: TestSigningKey;
  let jwks: JwksServer;
  let logged: string;

  const verifierFor = (
    issuer: string,
    settings: Partial<JwksConfig> = {},
    now?: () => Date,
    maxRememberedTokens?: number,
  ) => new UserTokenVerifier({ issuer, jwks: { ...JWKS, ...settings }, now, maxRememberedTokens });

  beforeAll(async () => {
    key = await generateSigningKey();
  });

  beforeEach(async () => {
    jwks = await startJwksServer([key.publicJwk]);
    jest.mocked(jwtVerify).mockClear();
    logged = '';
    for (const level of ['log', 'warn', 'error'] as const) {
      jest.spyOn(Logger.prototype, level).mockImplementation((...args: unknown[]) => {
        logged += JSON.stringify(args);
      });
    }
  });

  afterEach(async () => {
    jest.useRealTimers();
    jest.restoreAllMocks();
    await jwks.close();
  });

  it('accepts a token of the auth server and returns the user it names', async () => {
    const sut = verifierFor(jwks.url);
    const token = await signToken(key, jwks.url, { subject: USER_ID, email: 'ada@example.com' });
    await expect(sut.verify(token)).resolves.toEqual({
      userId: USER_ID,
      email: 'ada@example.com',
      tokenId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      issuedAt: expect.any(Number),
      expiresAt: expect.any(Number),
    });
  });

  it('refuses a token without a jti, or with one no logout could name', async () => {
    const sut = verifierFor(jwks.url);
    for (const tokenId of [undefined, '', 'not-a-uuid']) {
      const token = await signToken(key, jwks.url, { subject: USER_ID, tokenId });
      expect({ tokenId, code: await rejectedFor(sut.verify(token)) }).toEqual({
        tokenId,
        code: tokenId === undefined ? 'ERR_JWT_CLAIM_VALIDATION_FAILED' : 'invalid_token_id',
      });
    }
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

    it('a lifetime over 15 minutes, however far away its exp', async () => {
      const now = Math.floor(Date.now() / 1000);
      const tenYears = await signToken(key, jwks.url, { expiresAt: now + 10 * 365 * 86_400 });
      expect(await rejectedFor(verifierFor(jwks.url).verify(tenYears))).toBe('lifetime_too_long');
      const sixteenMinutes = await signToken(key, jwks.url, { expiresAt: now + 16 * 60 });
      expect(await rejectedFor(verifierFor(jwks.url).verify(sixteenMinutes))).toBe(
        'lifetime_too_long',
      );
    });

    it('an iat in the future, or a token older than 15 minutes', async () => {
      const now = Math.floor(Date.now() / 1000);
      const future = await signToken(key, jwks.url, {
        issuedAt: now + 3600,
        expiresAt: now + 3900,
      });
      expect(await rejectedFor(verifierFor(jwks.url).verify(future))).toBe(
        'ERR_JWT_CLAIM_VALIDATION_FAILED',
      );
      // Signed 14 minutes ago, valid 14 minutes more by its exp: too old at 15.
      const issuedAt = now - 14 * 60;
      const old = await signToken(key, jwks.url, { issuedAt, expiresAt: issuedAt + 900 });
      const later = verifierFor(jwks.url, {}, () => new Date((now + 61) * 1000));
      expect(await rejectedFor(later.verify(old))).toBe('ERR_JWT_EXPIRED');
    });

    it('a typ other than JWT (a service token is at+jwt)', async () => {
      const serviceToken = await signToken(key, jwks.url, { typ: 'at+jwt' });
      expect(await rejectedFor(verifierFor(jwks.url).verify(serviceToken))).toBe(
        'ERR_JWT_CLAIM_VALIDATION_FAILED',
      );
    });

    it('another spelling of the same signature (non-canonical base64url)', async () => {
      const sut = verifierFor(jwks.url);
      const token = await signToken(key, jwks.url);
      const [header, payload, signature] = token.split('.');
      // 64 bytes take 86 characters: the last one carries 4 spare bits.
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const last = alphabet.indexOf(signature.slice(-1));
      const respelled = `${signature.slice(0, -1)}${alphabet[last ^ 1]}`;
      expect(Buffer.from(respelled, 'base64url')).toEqual(Buffer.from(signature, 'base64url'));
      await expect(sut.verify(token)).resolves.toBeDefined();
      expect(await rejectedFor(sut.verify(`${header}.${payload}.${respelled}`))).toBe(
        'non_canonical_encoding',
      );
    });

    it('characters outside base64url, which the decoder would skip', async () => {
      const sut = verifierFor(jwks.url);
      const token = await signToken(key, jwks.url);
      const [header, payload, signature] = token.split('.');
      expect(Buffer.from(`${signature}=`, 'base64url')).toEqual(
        Buffer.from(signature, 'base64url'),
      );
      await expect(sut.verify(token)).resolves.toBeDefined();
      for (const spelling of [
        `${token}=`,
        `${token}!`,
        `${header}.${payload}.${signature.slice(0, 10)}!${signature.slice(10)}`,
        `${header}.${payload} .${signature}`,
        `${header}=.${payload}.${signature}`,
      ]) {
        expect(await rejectedFor(sut.verify(spelling))).toBe('non_canonical_encoding');
      }
    });

    it('garbage', async () => {
      const sut = verifierFor(jwks.url);
      for (const token of ['abc', 'a.b.c', '..', 'eyJhbGciOiJFZERTQSJ9.e30']) {
        expect(await rejectedFor(sut.verify(token))).toMatch(
          /^(ERR_JW[ST]_INVALID|non_canonical_encoding)$/,
        );
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
      expect(error).toBeInstanceOf(KeySetUnavailableError);
      expect((error as KeySetUnavailableError).reason).toBe('ECONNREFUSED');
    });

    it('is unavailable when the auth server answers 500, or not within the timeout', async () => {
      // No cooldown: each verify below fetches again.
      const sut = verifierFor(jwks.url, { timeoutMs: HANG_TIMEOUT_MS, cooldownMs: 0 });
      const token = await signToken(key, jwks.url);
      jwks.mode = 'error';
      expect(await rejection(sut.verify(token))).toBeInstanceOf(KeySetUnavailableError);
      jwks.mode = 'hang';
      const started = Date.now();
      const error = await rejection(sut.verify(token));
      expect(error).toBeInstanceOf(KeySetUnavailableError);
      expect((error as KeySetUnavailableError).reason).toBe('ERR_JWKS_TIMEOUT');
      expect(Date.now() - started).toBeLessThan(HANG_TIMEOUT_MS * 5);
      jwks.mode = 'serve';
      await expect(sut.verify(token)).resolves.toBeDefined();
    });

    it('tries a failed fetch again only after a pause: a hanging key server costs one timeout', async () => {
      let now = Date.now();
      const sut = verifierFor(jwks.url, { timeoutMs: HANG_TIMEOUT_MS }, () => new Date(now));
      const token = await signToken(key, jwks.url);
      jwks.mode = 'hang';
      for (let i = 0; i < 5; i += 1) {
        const error = await rejection(sut.verify(token));
        expect((error as KeySetUnavailableError).reason).toBe('ERR_JWKS_TIMEOUT');
      }
      expect(jwks.fetches()).toBe(1);
      jwks.mode = 'serve';
      now += RETRY_FAILED_FETCH_AFTER_MS - 1;
      expect(await rejection(sut.verify(token))).toBeInstanceOf(KeySetUnavailableError);
      now += 1;
      await expect(sut.verify(token)).resolves.toBeDefined();
      expect(jwks.fetches()).toBe(2);
    });

    it('keeps verifying with the keys it has when a refresh fails', async () => {
      const sut = verifierFor(jwks.url, { cacheMaxAgeMs: 50 });
      await sut.verify(await signToken(key, jwks.url));
      jwks.mode = 'error';
      advanceClock(80);
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
        KeySetUnavailableError,
      );
    });
  });

  describe('remembers verified tokens', () => {
    it('checks the signature of a token seen before only once, and fetches no more keys', async () => {
      const sut = verifierFor(jwks.url);
      const token = await signToken(key, jwks.url, { subject: USER_ID });
      const user = await sut.verify(token);
      for (let i = 0; i < 3; i += 1) await expect(sut.verify(token)).resolves.toEqual(user);
      expect(user).toMatchObject({ userId: USER_ID, email: 'ada@example.com' });
      expect(Object.isFrozen(user)).toBe(true);
      expect(signatureChecks()).toBe(1);
      expect(jwks.fetches()).toBe(1);
      // Another token is checked on its own.
      await sut.verify(await signToken(key, jwks.url));
      expect(signatureChecks()).toBe(2);
    });

    it('refuses a remembered token once the clock reaches its exp, and forgets it', async () => {
      let now = new Date('2030-01-01T00:00:00.000Z');
      const sut = verifierFor(jwks.url, {}, () => now);
      const exp = Math.floor(now.getTime() / 1000) + 900;
      const token = await signToken(key, jwks.url, { issuedAt: exp - 900, expiresAt: exp });
      await sut.verify(token);
      now = new Date(exp * 1000 - 1);
      await expect(sut.verify(token)).resolves.toBeDefined();
      expect(signatureChecks()).toBe(1);

      now = new Date(exp * 1000);
      expect(await rejectedFor(sut.verify(token))).toBe('ERR_JWT_EXPIRED');
      expect(signatureChecks()).toBe(2);
      // Forgotten: with the clock set back, it is checked again rather than taken from memory.
      now = new Date(exp * 1000 - 1);
      await expect(sut.verify(token)).resolves.toBeDefined();
      expect(signatureChecks()).toBe(3);
    });

    it('refuses a remembered token when the clock is set back before its nbf', async () => {
      let now = new Date('2030-01-01T00:00:00.000Z');
      const nbf = Math.floor(now.getTime() / 1000);
      const token = await new SignJWT({ email: 'ada@example.com' })
        .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'JWT' })
        .setIssuer(jwks.url)
        .setAudience('backend')
        .setSubject(USER_ID)
        .setIssuedAt(nbf)
        .setNotBefore(nbf)
        .setExpirationTime(nbf + 900)
        .setJti(randomUUID())
        .sign(key.privateKey);
      const sut = verifierFor(jwks.url, {}, () => now);
      await sut.verify(token);
      now = new Date(nbf * 1000 - 1000);
      expect(await rejectedFor(sut.verify(token))).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
    });

    it('never remembers more than its bound, and forgets the oldest first', async () => {
      const sut = verifierFor(jwks.url, {}, undefined, 3);
      const tokens: string[] = [];
      for (let i = 0; i < 20; i += 1) tokens.push(await signToken(key, jwks.url));
      for (const token of tokens) await sut.verify(token);
      expect(signatureChecks()).toBe(20);

      // Newest first: exactly the last three are remembered. Each miss is remembered in turn
      // (pushing out the oldest), so every later one in this walk is a miss as well.
      const remembered: number[] = [];
      for (let i = tokens.length - 1; i >= 0; i -= 1) {
        const before = signatureChecks();
        await sut.verify(tokens[i]);
        if (signatureChecks() === before) remembered.push(i);
      }
      expect(remembered).toEqual([19, 18, 17]);
    });

    it('refuses a bound that is not a positive integer', () => {
      for (const bound of [0, -1, 1.5, Number.NaN]) {
        expect(() => verifierFor(jwks.url, {}, undefined, bound)).toThrow(RangeError);
      }
    });

    it('never remembers a refused token', async () => {
      const sut = verifierFor(jwks.url);
      const noEmail = await signToken(key, jwks.url, { email: undefined });
      const [header, payload, signature] = (await signToken(key, jwks.url)).split('.');
      const flipped = `${header}.${payload}.${(signature[0] === 'A' ? 'B' : 'A') + signature.slice(1)}`;
      for (let i = 0; i < 2; i += 1) {
        expect(await rejectedFor(sut.verify(noEmail))).toBe('invalid_email');
        expect(await rejectedFor(sut.verify(flipped))).toBe(
          'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
        );
      }
      expect(signatureChecks()).toBe(4);
    });

    it('does not remember a token refused while the auth server was down', async () => {
      let now = Date.now();
      const sut = verifierFor(jwks.url, {}, () => new Date(now));
      const token = await signToken(key, jwks.url);
      jwks.mode = 'error';
      expect(await rejection(sut.verify(token))).toBeInstanceOf(KeySetUnavailableError);
      jwks.mode = 'serve';
      now += RETRY_FAILED_FETCH_AFTER_MS;
      await expect(sut.verify(token)).resolves.toBeDefined();
      await expect(sut.verify(token)).resolves.toBeDefined();
      expect(signatureChecks()).toBe(2);
    });

    describe('while the key set changes', () => {
      it('honours a withdrawn key no longer than before: until the key set is refetched', async () => {
        // Stale after a minute of the test's clock, never by a pause of a busy machine.
        const sut = verifierFor(jwks.url, { cacheMaxAgeMs: 60_000 });
        const token = await signToken(key, jwks.url);
        const replacement = await generateSigningKey();
        await sut.verify(token);
        jwks.keys = [replacement.publicJwk];
        // Not refetched yet: the verifier does not know, with or without remembering.
        await expect(sut.verify(token)).resolves.toBeDefined();
        expect(signatureChecks()).toBe(1);
        advanceClock(60_001);
        expect(await rejectedFor(sut.verify(token))).toBe('ERR_JWKS_NO_MATCHING_KEY');
        expect(jwks.fetches()).toBe(2);
        expect(await rejectedFor(sut.verify(token))).toBe('ERR_JWKS_NO_MATCHING_KEY');
      });

      it('stops honouring it at once when a rotation refetches the key set early', async () => {
        const sut = verifierFor(jwks.url, { cooldownMs: 0 });
        const token = await signToken(key, jwks.url);
        await sut.verify(token);
        const next = await generateSigningKey();
        jwks.keys = [next.publicJwk];
        await sut.verify(await signToken(next, jwks.url));
        expect(jwks.fetches()).toBe(2);
        expect(await rejectedFor(sut.verify(token))).toBe('ERR_JWKS_NO_MATCHING_KEY');
      });

      it('does not trust a kid alone: another key under the same kid refuses the token', async () => {
        const sut = verifierFor(jwks.url, { cacheMaxAgeMs: 50 });
        const token = await signToken(key, jwks.url);
        await sut.verify(token);
        const impostor = await generateSigningKey();
        jwks.keys = [{ ...impostor.publicJwk, kid: key.kid }];
        advanceClock(80);
        expect(await rejectedFor(sut.verify(token))).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
      });

      it('checks a remembered token once more after a refetch, then remembers it again', async () => {
        const sut = verifierFor(jwks.url, { cacheMaxAgeMs: 50 });
        const token = await signToken(key, jwks.url);
        await sut.verify(token);
        advanceClock(80);
        await expect(sut.verify(token)).resolves.toBeDefined();
        expect(jwks.fetches()).toBe(2);
        expect(signatureChecks()).toBe(2);
        await expect(sut.verify(token)).resolves.toBeDefined();
        expect(signatureChecks()).toBe(2);
      });

      it('looks the key up once, not twice, when the auth server is down past the max age', async () => {
        const sut = verifierFor(jwks.url, { cacheMaxAgeMs: 50 });
        const token = await signToken(key, jwks.url);
        await sut.verify(token);
        jwks.mode = 'error';
        advanceClock(80);
        await expect(sut.verify(token)).resolves.toBeDefined();
        expect(jwks.fetches()).toBe(2);
      });
    });
  });

  it('never logs a token', async () => {
    const sut = verifierFor(jwks.url, { cacheMaxAgeMs: 1 });
    const token = await signToken(key, jwks.url);
    await sut.verify(token);
    jwks.mode = 'error';
    advanceClock(5);
    await sut.verify(token);
    expect(logged).toContain('jwks_fetch_failed');
    expect(logged).not.toContain(token.split('.')[2]);
  });
});
