import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  type KeyLike,
} from 'jose';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { SIGNING_KEY_FILE } from './tokens.constants';

/** The signature algorithm of every access token. */
export const TOKEN_ALGORITHM = 'EdDSA';

/**
 * The Ed25519 key pair that signs access tokens. Read from its file at boot, or generated on
 * first start and written there (mode 0600), so tokens survive a restart.
 */
@Injectable()
export class SigningKeyService implements OnModuleInit {
  private readonly logger = new Logger(SigningKeyService.name);
  private privateKey: KeyLike | undefined;
  private publicKey: KeyLike | undefined;
  private publicJwk: JWK | undefined;

  constructor(@Inject(SIGNING_KEY_FILE) private readonly file: string) {}

  async onModuleInit(): Promise<void> {
    let privateJwk: JWK;
    if (existsSync(this.file)) {
      privateJwk = JSON.parse(readFileSync(this.file, 'utf8')) as JWK;
    } else {
      const pair = await generateKeyPair(TOKEN_ALGORITHM, { crv: 'Ed25519', extractable: true });
      privateJwk = await exportJWK(pair.privateKey);
      mkdirSync(dirname(this.file), { recursive: true });
      writeFileSync(this.file, JSON.stringify(privateJwk), { mode: 0o600, flag: 'wx' });
      this.logger.log({ event: 'signing_key_generated', file: this.file });
    }
    // Only the named public members: nothing private can slip into the JWKS.
    const publicPart: JWK = { kty: privateJwk.kty, crv: privateJwk.crv, x: privateJwk.x };
    const kid = await calculateJwkThumbprint(publicPart);
    this.privateKey = (await importJWK(
      { ...privateJwk, alg: TOKEN_ALGORITHM },
      TOKEN_ALGORITHM,
    )) as KeyLike;
    this.publicKey = (await importJWK(
      { ...publicPart, alg: TOKEN_ALGORITHM },
      TOKEN_ALGORITHM,
    )) as KeyLike;
    this.publicJwk = { ...publicPart, kid, alg: TOKEN_ALGORITHM, use: 'sig' };
  }

  /** The public key that checks the tokens it signed, when `kid` names it; else `undefined`. */
  verificationKey(kid: string | undefined): KeyLike | undefined {
    return kid !== undefined && kid === this.publicJwk?.kid ? this.publicKey : undefined;
  }

  /** The key that signs, and the `kid` that names it. */
  signing(): { key: KeyLike; kid: string } {
    if (!this.privateKey || !this.publicJwk?.kid) throw new Error('signing key not loaded');
    return { key: this.privateKey, kid: this.publicJwk.kid };
  }

  /** The public half, for the JWKS. */
  publicKeys(): JWK[] {
    if (!this.publicJwk) throw new Error('signing key not loaded');
    return [this.publicJwk];
  }
}
