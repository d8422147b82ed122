import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { oauthApi } from '@zt/contracts';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  type KeyLike,
} from 'jose';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { OAUTH_OPTIONS, RETIRED_KEY_GRACE_SECONDS } from './oauth.constants';
import type { OAuthModuleOptions } from './oauth.module-options';

/** The signature algorithm of every service token. */
export const SERVICE_TOKEN_ALGORITHM = 'EdDSA';

const DAY_MS = 24 * 60 * 60 * 1000;
/** How often a running server checks whether its signing key is due for rotation. */
const ROTATION_CHECK_MS = 60 * 60 * 1000;

/** One key pair as the keys file keeps it. */
interface StoredKey {
  readonly privateJwk: JWK;
  /** ISO 8601: when the key started signing. */
  readonly createdAt: string;
  /** ISO 8601: when a newer key replaced it (it signs nothing since); absent while current. */
  readonly retiredAt?: string;
}

/** A stored key, loaded. */
interface LoadedKey {
  readonly stored: StoredKey;
  readonly kid: string;
  readonly privateKey: KeyLike;
  readonly publicKey: KeyLike;
  readonly publicJwk: JWK;
}

/**
 * The Ed25519 keys that sign service tokens: separate from the key of user tokens, so that
 * neither kind of token verifies against the other's key set. The newest key signs; a key is
 * replaced after `keyRotationDays` (at boot, or by the hourly check of a running server), and
 * a replaced key stays published until every token it signed has expired
 * ((`MAX_SERVICE_TOKEN_LIFETIME_SECONDS`) plus {@link RETIRED_KEY_GRACE_SECONDS}), then
 * leaves the keys file. The file (mode 0600, written whole and renamed into place) keeps them
 * across restarts.
 */
@Injectable()
export class ServiceSigningKeys implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ServiceSigningKeys.name);
  private keys: LoadedKey[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(@Inject(OAUTH_OPTIONS) private readonly options: OAuthModuleOptions) {}

  async onModuleInit(): Promise<void> {
    const stored = existsSync(this.options.signingKeysFile)
      ? parseKeysFile(readFileSync(this.options.signingKeysFile, 'utf8'))
      : [];
    this.keys = await Promise.all(stored.map(loadKey));
    await this.maintain();
    this.timer = setInterval(() => {
      this.maintain().catch((error: unknown) => {
        this.logger.error({
          event: 'service_signing_key_rotation_failed',
          error: error instanceof Error ? error.message : 'unknown',
        });
      });
    }, ROTATION_CHECK_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** The key that signs now, and the `kid` that names it. */
  signing(): { key: KeyLike; kid: string } {
    const current = this.keys.find((key) => key.stored.retiredAt === undefined);
    if (!current) throw new Error('service signing key not loaded');
    return { key: current.privateKey, kid: current.kid };
  }

  /** The public halves of the current key and the retired keys still published, newest first. */
  publicKeys(): JWK[] {
    const now = this.now();
    return this.keys.filter((key) => isPublished(key.stored, now)).map((key) => key.publicJwk);
  }

  /**
   * The public key named `kid`, while it is published (what a resource server fetching the
   * JWKS now would verify with); `undefined` for any other `kid`.
   */
  verificationKey(kid: string): KeyLike | undefined {
    const now = this.now();
    return this.keys.find((key) => key.kid === kid && isPublished(key.stored, now))?.publicKey;
  }

  /**
   * Replaces the signing key when it is older than `keyRotationDays` (or there is none), and
   * forgets retired keys whose tokens have all expired; writes the file when anything changed.
   */
  async maintain(): Promise<void> {
    const now = this.now();
    let changed = false;
    const kept = this.keys.filter((key) => isPublished(key.stored, now));
    if (kept.length !== this.keys.length) changed = true;
    this.keys = kept;
    const current = this.keys.find((key) => key.stored.retiredAt === undefined);
    const maxAgeMs = this.options.keyRotationDays * DAY_MS;
    if (!current || now.getTime() - Date.parse(current.stored.createdAt) >= maxAgeMs) {
      const fresh = await newKey(now);
      this.keys = [
        fresh,
        ...this.keys.map((key) =>
          key === current
            ? { ...key, stored: { ...key.stored, retiredAt: now.toISOString() } }
            : key,
        ),
      ];
      changed = true;
      this.logger.log(
        current
          ? { event: 'service_signing_key_rotated', kid: fresh.kid, retired_kid: current.kid }
          : { event: 'service_signing_key_generated', kid: fresh.kid },
      );
    }
    if (changed) this.write();
  }

  private write(): void {
    const file = this.options.signingKeysFile;
    mkdirSync(dirname(file), { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    const content = { keys: this.keys.map((key) => key.stored) };
    writeFileSync(temporary, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
    renameSync(temporary, file);
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }
}

/** True while a key may still verify tokens: current, or retired less than a token's life ago. */
function isPublished(key: StoredKey, now: Date): boolean {
  if (key.retiredAt === undefined) return true;
  const lastExpiry =
    Date.parse(key.retiredAt) +
    (oauthApi.MAX_SERVICE_TOKEN_LIFETIME_SECONDS + RETIRED_KEY_GRACE_SECONDS) * 1000;
  return now.getTime() < lastExpiry;
}

async function newKey(now: Date): Promise<LoadedKey> {
  const pair = await generateKeyPair(SERVICE_TOKEN_ALGORITHM, {
    crv: 'Ed25519',
    extractable: true,
  });
  return loadKey({ privateJwk: await exportJWK(pair.privateKey), createdAt: now.toISOString() });
}

async function loadKey(stored: StoredKey): Promise<LoadedKey> {
  const { privateJwk } = stored;
  // Only the named public members: nothing private can slip into the JWKS.
  const publicPart: JWK = { kty: privateJwk.kty, crv: privateJwk.crv, x: privateJwk.x };
  const kid = await calculateJwkThumbprint(publicPart);
  const privateKey = (await importJWK(
    { ...privateJwk, alg: SERVICE_TOKEN_ALGORITHM },
    SERVICE_TOKEN_ALGORITHM,
  )) as KeyLike;
  const publicKey = (await importJWK(
    { ...publicPart, alg: SERVICE_TOKEN_ALGORITHM },
    SERVICE_TOKEN_ALGORITHM,
  )) as KeyLike;
  return {
    stored,
    kid,
    privateKey,
    publicKey,
    publicJwk: { ...publicPart, kid, alg: SERVICE_TOKEN_ALGORITHM, use: 'sig' },
  };
}

/**
 * The keys of a keys file, checked for shape (a hand-edited file fails the boot with a clear
 * message rather than signing with half a key).
 */
function parseKeysFile(text: string): StoredKey[] {
  const parsed = JSON.parse(text) as { keys?: unknown };
  if (!Array.isArray(parsed.keys)) throw new Error('service signing keys file has no "keys" list');
  return parsed.keys.map((entry: unknown, index) => {
    const key = entry as Partial<StoredKey> | null;
    const jwk = key?.privateJwk;
    if (
      !jwk ||
      jwk.kty !== 'OKP' ||
      jwk.crv !== 'Ed25519' ||
      typeof jwk.d !== 'string' ||
      typeof jwk.x !== 'string' ||
      typeof key.createdAt !== 'string' ||
      Number.isNaN(Date.parse(key.createdAt)) ||
      (key.retiredAt !== undefined &&
        (typeof key.retiredAt !== 'string' || Number.isNaN(Date.parse(key.retiredAt))))
    ) {
      throw new Error(`service signing keys file: entry ${index + 1} is not an Ed25519 key`);
    }
    return key as StoredKey;
  });
}
