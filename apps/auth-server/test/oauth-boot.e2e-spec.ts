import {
  builtServiceMain,
  generateToken,
  request,
  runServiceToExit,
  type ServiceProcess,
  startServiceProcess,
} from '@zt/test-kit';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  type JSONWebKeySet,
  type JWK,
  jwtVerify,
  SignJWT,
} from 'jose';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The service-token settings at start-up: client secrets too short to be one, and the
// signing keys kept across restarts with their rotation overlap. DESIGN section 9.

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;
// The 2-core machine may be busy: a slow start is not what this suite tests.
const START_TIMEOUT_MS = 180_000;
jest.setTimeout(START_TIMEOUT_MS + 60_000);

describe('the auth server at start-up (service tokens)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'auth-oauth-boot-'));
  const started: ServiceProcess[] = [];

  afterAll(async () => {
    await Promise.all(started.map((process) => process.stop()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it.each([
    ['BACKEND_CLIENT_SECRET', randomBytes(31).toString('base64url'), 'is shorter than 256 bits'],
    ['METRICS_SCRAPER_CLIENT_SECRET', randomBytes(31).toString('hex'), 'is shorter than 256 bits'],
    [
      'AUTH_SERVER_CLIENT_SECRET_NEXT',
      randomBytes(32).toString('base64'),
      'must be hex or unpadded base64url',
    ],
  ])(
    'refuses %s under 256 bits: exits 1 with one line naming it, never the value',
    async (variable, value, problem) => {
      const result = await runServiceToExit({
        main: builtServiceMain('auth-server'),
        env: {
          INTERNAL_SERVICE_TOKEN: generateToken(),
          AUTH_SERVER_PORT: '0',
          DATA_DIR: dataDir,
          AUTH_SERVER_CLIENT_SECRET: randomBytes(32).toString('hex'),
          [variable]: value,
        },
      });
      expect(result.code).toBe(1);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^configuration error: ${variable} ${problem}`));
      expect(result.stderr + result.stdout).not.toContain(value);
      expect(result.stdout).not.toContain('listening');
    },
  );

  it('starts without any client secret, and then authenticates nobody', async () => {
    const auth = await startServiceProcess({
      main: builtServiceMain('auth-server'),
      env: {
        INTERNAL_SERVICE_TOKEN: generateToken(),
        AUTH_SERVER_PORT: '0',
        DATA_DIR: join(dataDir, 'no-secrets'),
      },
      startTimeoutMs: START_TIMEOUT_MS,
    });
    started.push(auth);
    const response = await request(`${auth.url}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&audience=billing-server&client_id=backend&client_secret=x',
    });
    expect(response).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    await auth.stop();
  });

  it('replaces a signing key past its rotation period, keeps it published while its tokens live, and forgets older ones', async () => {
    const issuer = 'http://auth.test';
    const keysFile = join(dataDir, 'service-keys.json');
    const key = async () => {
      const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
      const privateJwk = await exportJWK(pair.privateKey);
      const kid = await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: privateJwk.x });
      return { pair, privateJwk, kid };
    };
    const now = Date.now();
    const old = await key();
    const longRetired = await key();
    writeFileSync(
      keysFile,
      JSON.stringify({
        keys: [
          { privateJwk: old.privateJwk, createdAt: new Date(now - 40 * DAY_MS).toISOString() },
          {
            privateJwk: longRetired.privateJwk,
            createdAt: new Date(now - 80 * DAY_MS).toISOString(),
            retiredAt: new Date(now - 40 * DAY_MS).toISOString(),
          },
        ],
      }),
      { mode: 0o600 },
    );
    // A token the old key signed just before the restart.
    const issuedAt = Math.floor(now / 1000) - 30;
    const before = await new SignJWT({ client_id: 'backend', scope: 'billing:charge' })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: old.kid })
      .setIssuer(issuer)
      .setSubject('backend')
      .setAudience('billing-server')
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + 300)
      .setJti(randomUUID())
      .sign(old.pair.privateKey);

    const clientSecret = randomBytes(32).toString('base64url');
    const auth = await startServiceProcess({
      main: builtServiceMain('auth-server'),
      env: {
        INTERNAL_SERVICE_TOKEN: generateToken(),
        AUTH_SERVER_PORT: '0',
        AUTH_SERVER_URL: issuer,
        DATA_DIR: join(dataDir, 'rotation'),
        SERVICE_SIGNING_KEYS_FILE: keysFile,
        BACKEND_CLIENT_SECRET: clientSecret,
      },
      startTimeoutMs: START_TIMEOUT_MS,
    });
    started.push(auth);

    const published = (await request(`${auth.url}/oauth2/jwks`)).body as JSONWebKeySet;
    const kids = published.keys.map((jwk: JWK) => jwk.kid);
    expect(kids).toHaveLength(2);
    expect(kids[1]).toBe(old.kid);
    expect(kids).not.toContain(longRetired.kid);
    const options = { issuer, audience: 'billing-server', typ: 'at+jwt', algorithms: ['EdDSA'] };
    await expect(jwtVerify(before, createLocalJWKSet(published), options)).resolves.toBeDefined();

    const response = await request(`${auth.url}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&audience=billing-server&client_id=backend&client_secret=${clientSecret}`,
    });
    expect(response.status).toBe(200);
    const after = (response.body as { access_token: string }).access_token;
    expect(decodeProtectedHeader(after).kid).toBe(kids[0]);
    await expect(jwtVerify(after, createLocalJWKSet(published), options)).resolves.toBeDefined();

    const kept = JSON.parse(readFileSync(keysFile, 'utf8')) as {
      keys: Array<{ createdAt: string; retiredAt?: string }>;
    };
    expect(kept.keys).toHaveLength(2);
    expect(kept.keys[0].retiredAt).toBeUndefined();
    expect(Date.parse(kept.keys[1].retiredAt ?? '')).toBeGreaterThanOrEqual(now - MINUTE_MS);
  });
});
