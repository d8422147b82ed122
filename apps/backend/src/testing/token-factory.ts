import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  type KeyLike,
  SignJWT,
} from 'jose';
import { randomUUID } from 'node:crypto';

/** A key pair as the auth server keeps one: the private key signs, the public JWK is published. */
export interface TestSigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: KeyLike;
  readonly publicJwk: JWK;
}

/** Generates a signing key (Ed25519 by default, as the auth server does). */
export async function generateSigningKey(alg = 'EdDSA'): Promise<TestSigningKey> {
  const pair = await generateKeyPair(alg, { crv: alg === 'EdDSA' ? 'Ed25519' : undefined });
  const jwk = await exportJWK(pair.publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return {
    kid,
    alg,
    privateKey: pair.privateKey,
    publicJwk: { ...jwk, kid, alg, use: 'sig' },
  };
}

/** What a test token may override. `undefined` leaves a claim out. */
export interface TestTokenOptions {
  readonly issuer?: string;
  readonly audience?: string;
  readonly subject?: string | undefined;
  readonly email?: string | undefined;
  /** Seconds since the epoch; `null` leaves `exp` out. */
  readonly expiresAt?: number | null;
  /** Seconds since the epoch; now when absent. */
  readonly issuedAt?: number;
  readonly kid?: string;
  /** The `typ` header; `JWT` when absent. */
  readonly typ?: string;
  /** The `jti`; a random UUID when absent, left out when `undefined`. */
  readonly tokenId?: string | undefined;
}

/** Signs an access token the way the auth server does (claims overridable). */
export function signToken(
  key: TestSigningKey,
  issuer: string,
  options: TestTokenOptions = {},
): Promise<string> {
  const now = options.issuedAt ?? Math.floor(Date.now() / 1000);
  const payload: JWTPayload = {};
  const email = 'email' in options ? options.email : 'ada@example.com';
  if (email !== undefined) payload['email'] = email;
  let jwt = new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: options.kid ?? key.kid, typ: options.typ ?? 'JWT' })
    .setIssuer(options.issuer ?? issuer)
    .setAudience(options.audience ?? 'backend')
    .setIssuedAt(now);
  const tokenId = 'tokenId' in options ? options.tokenId : randomUUID();
  if (tokenId !== undefined) jwt = jwt.setJti(tokenId);
  const subject = 'subject' in options ? options.subject : randomUUID();
  if (subject !== undefined) jwt = jwt.setSubject(subject);
  const expiresAt = options.expiresAt === undefined ? now + 900 : options.expiresAt;
  if (expiresAt !== null) jwt = jwt.setExpirationTime(expiresAt);
  return jwt.sign(key.privateKey);
}
