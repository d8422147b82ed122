import { Logger } from '@nestjs/common';
import { base64url, SignJWT } from 'jose';
import { startTestIssuer, type TestIssuer } from '../../testing/test-issuer';
import { randomUUID } from 'node:crypto';
import { JwtVerifier } from './jwt-verifier';
import { KeySetUnavailableError, TokenRejectedError } from './token-errors';

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

  const verifierFor = (jwksUrl = issuer.jwksUrl.href) =>
    new JwtVerifier<ServiceCaller>({
      issuer: issuer.url,
      jwksUrl: new URL(jwksUrl),
      audience: AUDIENCE,
      type: 'at+jwt',
      maxLifetimeSeconds: LIFETIME,
      requiredClaims: ['sub', 'jti', 'scope'],
      readClaims: ({ sub, scope }) => {
        if (typeof scope !== 'string') throw new TokenRejectedError('invalid_scope');
        return { caller: sub as string, scopes: scope.split(' ') };
      },
      keySet: { timeoutMs: 500, cooldownMs: 30_000, cacheMaxAgeMs: 600_000 },
    });

  interface Overrides {
    typ?: string;
    audience?: string;
    issuer?: string;
    lifetime?: number;
    scope?: unknown;
  }
  const sign = (overrides: Overrides = {}): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ scope: 'scope' in overrides ? overrides.scope : 'billing:charge' })
      .setProtectedHeader({
        alg: 'EdDSA',
        kid: issuer.publicJwk.kid,
        typ: overrides.typ ?? 'at+jwt',
      })
      .setIssuer(overrides.issuer ?? issuer.url)
      .setAudience(overrides.audience ?? AUDIENCE)
      .setSubject('backend')
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + (overrides.lifetime ?? 300))
      .sign(issuer.privateKey);
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
      keySet: { timeoutMs: 500, cooldownMs: 30_000, cacheMaxAgeMs: 600_000 },
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
});
