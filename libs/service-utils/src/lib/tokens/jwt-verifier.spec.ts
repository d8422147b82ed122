import { Logger } from '@nestjs/common';
import type * as Jose from 'jose';
import { base64url, jwtVerify, SignJWT } from 'jose';
import {
  generateTestSigningKey,
  startTestIssuer,
  type TestIssuer,
  type TestSigningKey,
} from '../../testing/test-issuer';
import { randomUUID } from 'node:crypto';
import { JwtVerifier, type KeySetOptions } from './jwt-verifier';
import { KeySetUnavailableError, TokenRejectedError } from './token-errors';

// Counted: jwtVerify is the signature check a remembered token skips, and a call of the remote
// key set is the key lookup it skips while the key set cannot have changed.
let mockKeyLookups = 0;
jest.mock('jose', () => {
  const actual = jest.requireActual<typeof Jose>('jose');
  return {
    ...actual,
    jwtVerify: jest.fn(actual.jwtVerify),
    createRemoteJWKSet: (...args: Parameters<typeof actual.createRemoteJWKSet>) =>
      new Proxy(actual.createRemoteJWKSet(...args), {
        apply: (target, thisArg, lookup: unknown[]) => {
          mockKeyLookups += 1;
          return Reflect.apply(target, thisArg, lookup) as unknown;
        },
      }),
  };
});
const signatureChecks = (): number => jest.mocked(jwtVerify).mock.calls.length;

/**
 * Moves the clock `ms` forward. jose ages its key set by `Date.now()`, and so does the
 * verifier (no `now` given), so only `Date` is faked: the key server and the HTTP client keep
 * their real timers, and the test does not wait.
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

// The kit's verifier under the profile of a service token (RFC 9068): `typ` at+jwt, the
// callee as `aud`. The backend's user-token suite covers caching and key-set outages in depth.
const AUDIENCE = 'billing-server';
const LIFETIME = 600;

interface ServiceCaller {
  readonly caller: string;
  readonly scopes: readonly string[];
}

describe(JwtVerifier.name, () => {
  let issuer: TestIssuer;

  beforeAll(async () => {
    issuer = await startTestIssuer('/jwks');
  });

  afterAll(() => issuer.close());

  // A fetch deadline far above a busy machine's answer: no test here waits for it but one.
  const KEY_SET: KeySetOptions = { timeoutMs: 5_000, cooldownMs: 30_000, cacheMaxAgeMs: 600_000 };

  const verifierFor = (
    jwksUrl = issuer.jwksUrl.href,
    keySet: Partial<KeySetOptions> = {},
    from: TestIssuer = issuer,
  ) =>
    new JwtVerifier<ServiceCaller>({
      issuer: from.url,
      jwksUrl: new URL(jwksUrl),
      audience: AUDIENCE,
      type: 'at+jwt',
      maxLifetimeSeconds: LIFETIME,
      requiredClaims: ['sub', 'jti', 'scope'],
      readClaims: ({ sub, scope }) => {
        if (typeof scope !== 'string') throw new TokenRejectedError('invalid_scope');
        return { caller: sub as string, scopes: scope.split(' ') };
      },
      keySet: { ...KEY_SET, ...keySet },
    });

  interface Overrides {
    typ?: string;
    audience?: string;
    issuer?: string;
    lifetime?: number;
    scope?: unknown;
    signer?: TestSigningKey;
  }
  const sign = (overrides: Overrides = {}): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    const signer = overrides.signer ?? issuer;
    return new SignJWT({ scope: 'scope' in overrides ? overrides.scope : 'billing:charge' })
      .setProtectedHeader({
        alg: 'EdDSA',
        kid: signer.publicJwk.kid,
        typ: overrides.typ ?? 'at+jwt',
      })
      .setIssuer(overrides.issuer ?? issuer.url)
      .setAudience(overrides.audience ?? AUDIENCE)
      .setSubject('backend')
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + (overrides.lifetime ?? 300))
      .sign(signer.privateKey);
  };

  async function refusal(token: Promise<string> | string, verifier = verifierFor()) {
    try {
      await verifier.verify(await token);
    } catch (error) {
      if (error instanceof TokenRejectedError) return error.reason;
      throw error;
    }
    throw new Error('the token was accepted');
  }

  it('accepts a token of its profile and returns what the profile reads from it', async () => {
    const sut = verifierFor();
    const token = await sign();
    const caller = await sut.verify(token);
    expect(caller).toEqual({ caller: 'backend', scopes: ['billing:charge'] });
    expect(Object.isFrozen(caller)).toBe(true);
    // Remembered: the same object again.
    expect(await sut.verify(token)).toBe(caller);
  });

  it('refuses a token of another type: a user token (typ JWT) is never a service token', async () => {
    expect(await refusal(sign({ typ: 'JWT' }))).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
  });

  it('refuses a token for another audience, or from another issuer', async () => {
    expect(await refusal(sign({ audience: 'filesystem-server' }))).toBe(
      'ERR_JWT_CLAIM_VALIDATION_FAILED',
    );
    expect(await refusal(sign({ issuer: 'http://elsewhere.example' }))).toBe(
      'ERR_JWT_CLAIM_VALIDATION_FAILED',
    );
  });

  it('refuses a token meant to live longer than the profile allows', async () => {
    expect(await refusal(sign({ lifetime: LIFETIME + 1 }))).toBe('lifetime_too_long');
  });

  it('refuses an expired token, one not yet valid, one issued in the future, and one without aud', async () => {
    const now = Math.floor(Date.now() / 1000);
    const signClaims = (claims: Record<string, unknown>) =>
      new SignJWT({
        iss: issuer.url,
        aud: AUDIENCE,
        sub: 'backend',
        jti: randomUUID(),
        scope: 'billing:charge',
        iat: now,
        exp: now + 60,
        ...claims,
      })
        .setProtectedHeader({ alg: 'EdDSA', kid: issuer.publicJwk.kid, typ: 'at+jwt' })
        .sign(issuer.privateKey);
    expect(await refusal(signClaims({ iat: now - 120, exp: now - 1 }))).toBe('ERR_JWT_EXPIRED');
    expect(await refusal(signClaims({ nbf: now + 60 }))).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
    expect(await refusal(signClaims({ iat: now + 60, exp: now + 120 }))).toBe(
      'ERR_JWT_CLAIM_VALIDATION_FAILED',
    );
    expect(await refusal(signClaims({ aud: undefined }))).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
    // The same claims otherwise verify: each refusal is the one claim's.
    await expect(verifierFor().verify(await signClaims({}))).resolves.toEqual({
      caller: 'backend',
      scopes: ['billing:charge'],
    });
  });

  it("passes on the profile's own refusal of a claim", async () => {
    expect(await refusal(sign({ scope: ['billing:charge'] }))).toBe('invalid_scope');
  });

  it('refuses alg none, and HS256 signed with the public key as the secret', async () => {
    const claims = base64url.encode(
      JSON.stringify({
        iss: issuer.url,
        aud: AUDIENCE,
        sub: 'backend',
        jti: randomUUID(),
        scope: 'billing:charge',
        iat: Math.floor(Date.now() / 1000),
        exp: Math.floor(Date.now() / 1000) + 60,
      }),
    );
    const unsigned = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt' }))}.${claims}.`;
    expect(await refusal(unsigned)).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
    const hmac = await new SignJWT(JSON.parse(Buffer.from(claims, 'base64url').toString()))
      .setProtectedHeader({ alg: 'HS256', kid: issuer.publicJwk.kid, typ: 'at+jwt' })
      .sign(new TextEncoder().encode(JSON.stringify(issuer.publicJwk)));
    expect(await refusal(hmac)).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
  });

  it('verifies with keys fetched ahead of time (prefetchKeys) after the issuer has gone away', async () => {
    const leaving = await startTestIssuer('/jwks');
    const sut = new JwtVerifier<string>({
      issuer: leaving.url,
      jwksUrl: leaving.jwksUrl,
      audience: AUDIENCE,
      type: 'at+jwt',
      maxLifetimeSeconds: LIFETIME,
      requiredClaims: ['sub'],
      readClaims: ({ sub }) => sub as string,
      keySet: KEY_SET,
    });
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', kid: leaving.publicJwk.kid, typ: 'at+jwt' })
      .setIssuer(leaving.url)
      .setAudience(AUDIENCE)
      .setSubject('backend')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(leaving.privateKey);
    await sut.prefetchKeys();
    await leaving.close();
    await expect(sut.verify(token)).resolves.toBe('backend');
  });

  it('prefetches nothing, and throws nothing, when the issuer is not there yet', async () => {
    const sut = verifierFor(`${issuer.url}/nowhere`);
    await expect(sut.prefetchKeys()).resolves.toBeUndefined();
    // Nothing was kept: the first token still needs the key set.
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    await expect(sut.verify(await sign())).rejects.toBeInstanceOf(KeySetUnavailableError);
    warn.mockRestore();
  });

  it('says the keys are unavailable, not that the token is bad, when the key set cannot be had', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const sut = verifierFor(`${issuer.url}/nowhere`);
    await expect(sut.verify(await sign())).rejects.toBeInstanceOf(KeySetUnavailableError);
    expect(warn).toHaveBeenCalledWith(expect.objectContaining({ event: 'jwks_fetch_failed' }));
    warn.mockRestore();
  });

  describe('a remembered token', () => {
    // Its own key server per test: these tests rotate, withdraw and break its keys.
    let keyServer: TestIssuer;

    beforeEach(async () => {
      keyServer = await startTestIssuer('/jwks');
      mockKeyLookups = 0;
      jest.mocked(jwtVerify).mockClear();
      jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    });

    afterEach(async () => {
      jest.useRealTimers();
      jest.restoreAllMocks();
      await keyServer.close();
    });

    const sutFor = (keySet: Partial<KeySetOptions> = {}) =>
      verifierFor(keyServer.jwksUrl.href, keySet, keyServer);
    const signFor = (overrides: Overrides = {}) =>
      sign({ issuer: keyServer.url, signer: keyServer, ...overrides });

    // Verified, then presented again: the first lookup came with the key set's first fetch,
    // so the second request looks the key up once more, and later ones need not.
    async function remembered(sut: JwtVerifier<ServiceCaller>, token: string) {
      const caller = await sut.verify(token);
      await expect(sut.verify(token)).resolves.toBe(caller);
      return caller;
    }

    it('is answered without a key lookup or a signature check while the key set is fresh', async () => {
      const sut = sutFor();
      const token = await signFor();
      const caller = await remembered(sut, token);
      const lookups = mockKeyLookups;
      for (let i = 0; i < 5; i += 1) await expect(sut.verify(token)).resolves.toBe(caller);
      expect(mockKeyLookups).toBe(lookups);
      expect(signatureChecks()).toBe(1);
      expect(keyServer.fetches()).toBe(1);
    });

    it('has its key looked up once the key set is stale: a withdrawn key stops counting then', async () => {
      // Stale after a minute of the test's clock, never by a pause of a busy machine.
      const sut = sutFor({ cacheMaxAgeMs: 60_000 });
      const token = await signFor();
      const caller = await remembered(sut, token);
      const replacement = await generateTestSigningKey();
      keyServer.keys = [replacement.publicJwk];
      // Not refetched yet: the verifier does not know, with or without remembering.
      await expect(sut.verify(token)).resolves.toBe(caller);
      expect(keyServer.fetches()).toBe(1);
      advanceClock(60_001);
      expect(await refusal(token, sut)).toBe('ERR_JWKS_NO_MATCHING_KEY');
      expect(keyServer.fetches()).toBe(2);
    });

    it("stops counting at once when another token's unknown kid refetches the key set without its key", async () => {
      const sut = sutFor({ cooldownMs: 0 });
      const token = await signFor();
      await remembered(sut, token);
      const next = await generateTestSigningKey();
      keyServer.keys = [next.publicJwk];
      await expect(sut.verify(await signFor({ signer: next }))).resolves.toBeDefined();
      expect(keyServer.fetches()).toBe(2);
      // The key set is fresh (just fetched), but it is another one: the key is looked up.
      expect(await refusal(token, sut)).toBe('ERR_JWKS_NO_MATCHING_KEY');
    });

    it('is checked against the known keys, not answered from memory, after a failed fetch', async () => {
      const sut = sutFor();
      const token = await signFor();
      const caller = await remembered(sut, token);
      // Past the cooldown, within the max age: a token with an unknown kid makes a fetch,
      // which fails; the key set stays the same, and fresh.
      advanceClock(KEY_SET.cooldownMs + 1);
      keyServer.mode = 'error';
      const stranger = await generateTestSigningKey();
      await expect(sut.verify(await signFor({ signer: stranger }))).rejects.toBeInstanceOf(
        KeySetUnavailableError,
      );
      expect(keyServer.fetches()).toBe(2);
      const checks = signatureChecks();
      await expect(sut.verify(token)).resolves.toEqual(caller);
      // The outage fallback hands out its own key objects: the signature is checked again.
      expect(signatureChecks()).toBe(checks + 1);
    });

    it('has its key looked up while a fetch of the key set is under way', async () => {
      // The hanging fetch must still be under way at the lookup below, on a busy machine too.
      const sut = sutFor({ cooldownMs: 0, timeoutMs: 2_000 });
      const token = await signFor();
      const caller = await remembered(sut, token);
      keyServer.mode = 'hang';
      const stranger = await generateTestSigningKey();
      // Settled either way, so that a failure below leaves no rejection behind.
      const pending = sut.verify(await signFor({ signer: stranger })).catch((error) => error);
      while (keyServer.fetches() < 2) await new Promise((resolve) => setTimeout(resolve, 5));
      const lookups = mockKeyLookups;
      // The lookup answers from the key set it has, the same key: remembered all the same.
      await expect(sut.verify(token)).resolves.toBe(caller);
      expect(mockKeyLookups).toBe(lookups + 1);
      expect(await pending).toBeInstanceOf(KeySetUnavailableError);
    });

    it('is refused once its exp passes, though the key set has not changed', async () => {
      const sut = sutFor();
      const token = await signFor({ lifetime: 60 });
      await remembered(sut, token);
      advanceClock(60_000);
      expect(await refusal(token, sut)).toBe('ERR_JWT_EXPIRED');
    });
  });
});
