import { createUserAssertionVerifier, TokenRejectedError } from '@zt/service-utils';
import { launchStack, type ServiceStack } from '@zt/stack-launcher';
import {
  basicCredentials,
  generateToken,
  inheritedProcessEnvironment,
  registerUser,
  request,
  type TestResponse,
  type TestUser,
  waitForLogLine,
} from '@zt/test-kit';
import {
  createLocalJWKSet,
  decodeJwt,
  generateKeyPair,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  jwtVerify,
  type KeyLike,
  SignJWT,
} from 'jose';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Token exchange (RFC 8693) at POST /oauth2/token, against the real auth server: the backend
// trades a user's access token for a user assertion bound to that user, itself as the actor
// and one callee. Issue 14, item 5.

const ISSUER = 'http://auth.test';
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const secret = () => randomBytes(32).toString('base64url');
const SECRETS = { backend: secret(), authServer: secret(), operator: secret() };
const FORM = 'application/x-www-form-urlencoded';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Every file under `dir`, recursively. */
const filesUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });

/**
 * The same token with one bit of its signature's first byte changed. Editing the base64url text
 * instead is not enough: a token ending in "BA" was once "tampered" into itself, and the last
 * character's low bits are padding that decodes to the same signature.
 */
const withFlippedSignatureBit = (jwt: string): string => {
  const [header, payload, signature] = jwt.split('.');
  const bytes = Buffer.from(signature, 'base64url');
  bytes[0] ^= 1;
  return `${header}.${payload}.${bytes.toString('base64url')}`;
};

describe('auth-server token exchange (RFC 8693), as a process', () => {
  const internalToken = generateToken();
  const dataDir = mkdtempSync(join(tmpdir(), 'auth-exchange-e2e-'));
  let stack: ServiceStack;
  let alice: TestUser;
  const auth = () => stack.process('auth-server');

  beforeAll(async () => {
    stack = await launchStack({
      services: ['billing-server', 'auth-server'],
      env: {
        ...inheritedProcessEnvironment(),
        INTERNAL_SERVICE_TOKEN: internalToken,
        DATA_DIR: dataDir,
        LOG_LEVEL: 'info',
      },
      serviceEnv: {
        'auth-server': {
          BACKEND_CLIENT_SECRET: SECRETS.backend,
          AUTH_SERVER_CLIENT_SECRET: SECRETS.authServer,
          OPERATOR_CLIENT_SECRET: SECRETS.operator,
          SERVICE_TOKEN_TTL_SECONDS: '120',
        },
      },
      urls: { 'auth-server': ISSUER },
      startTimeoutMs: 180_000,
    });
    alice = await registerUser(auth().url, { 'X-INTERNAL-TOKEN': internalToken });
  }, 240_000);

  afterAll(async () => {
    await stack?.stopAll();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
  const tokenRequest = (fields: Record<string, string>, clientId: string, clientSecret: string) =>
    request(`${auth().url}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': FORM, Authorization: basicCredentials(clientId, clientSecret) },
      body: form(fields),
    });
  const exchange = (
    fields: Record<string, string>,
    client: [string, string] = ['backend', SECRETS.backend],
  ) =>
    tokenRequest(
      { grant_type: EXCHANGE, subject_token_type: ACCESS_TOKEN, ...fields },
      client[0],
      client[1],
    );
  const serviceKeys = async () =>
    (await request(`${auth().url}/oauth2/jwks`)).body as JSONWebKeySet;
  const expectRefused = (response: TestResponse, status: number, error: string) => {
    expect({ status: response.status, body: response.body }).toEqual({
      status,
      body: { error, error_description: expect.any(String) },
    });
    expect(response.headers.get('cache-control')).toBe('no-store');
  };
  /** The auth server's own user-token key, read from its data folder (to sign what it would not). */
  const userSigningKey = async (): Promise<{ key: KeyLike; kid: string }> => {
    const file = filesUnder(dataDir).find((path) => path.endsWith('signing-key.jwk.json'));
    if (!file) throw new Error('no signing key file under the data folder');
    const jwk = JSON.parse(readFileSync(file, 'utf8')) as JWK;
    const published = (await request(`${auth().url}/.well-known/jwks.json`)).body as JSONWebKeySet;
    return {
      key: (await importJWK({ ...jwk, alg: 'EdDSA' }, 'EdDSA')) as KeyLike,
      kid: published.keys[0].kid as string,
    };
  };
  /** A user token as the auth server signs them, with `changes` applied. */
  const craftUserToken = async (
    key: KeyLike,
    kid: string,
    changes: { typ?: string; iat?: number; exp?: number; aud?: string; sub?: string } = {},
  ) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ email: alice.email })
      .setProtectedHeader({ alg: 'EdDSA', kid, typ: changes.typ ?? 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(changes.aud ?? 'backend')
      .setSubject(changes.sub ?? alice.userId)
      .setIssuedAt(changes.iat ?? now)
      .setExpirationTime(changes.exp ?? now + 600)
      .setJti(randomUUID())
      .sign(key);
  };

  describe('exchanges', () => {
    it("the backend's user token for a user assertion: sub the user, act the backend, aud the callee, its own typ", async () => {
      const response = await exchange({
        subject_token: alice.accessToken,
        audience: 'filesystem-server',
      });
      expect(response).toMatchObject({
        status: 200,
        body: {
          access_token: expect.any(String),
          issued_token_type: JWT_TYPE,
          token_type: 'N_A',
          expires_in: 120,
          scope: 'files:read files:write files:act-as-user',
        },
      });
      expect(response.headers.get('cache-control')).toBe('no-store');
      const assertion = (response.body as { access_token: string }).access_token;
      const { payload, protectedHeader } = await jwtVerify(
        assertion,
        createLocalJWKSet(await serviceKeys()),
        { issuer: ISSUER, audience: 'filesystem-server', typ: 'user-assertion+jwt' },
      );
      expect(protectedHeader).toMatchObject({ alg: 'EdDSA', typ: 'user-assertion+jwt' });
      expect(payload).toEqual({
        iss: ISSUER,
        sub: alice.userId,
        act: { sub: 'backend' },
        client_id: 'backend',
        aud: 'filesystem-server',
        scope: 'files:read files:write files:act-as-user',
        iat: expect.any(Number),
        exp: (payload.iat as number) + 120,
        jti: expect.stringMatching(UUID),
      });
      // Never longer than the user's own token.
      expect(payload.exp).toBeLessThanOrEqual(decodeJwt(alice.accessToken).exp as number);
    });

    it("passes the trust kit's user-assertion verifier of its audience, and no other", async () => {
      const response = await exchange({
        subject_token: alice.accessToken,
        audience: 'billing-server',
        scope: 'billing:charge',
      });
      expect(response.status).toBe(200);
      const assertion = (response.body as { access_token: string }).access_token;
      const settings = (audience: string) => ({
        issuer: ISSUER,
        jwksUrl: new URL(`${auth().url}/oauth2/jwks`),
        audience,
        keySet: { timeoutMs: 3000, cooldownMs: 1000, cacheMaxAgeMs: 60_000 },
      });
      const verified = await createUserAssertionVerifier(settings('billing-server')).verify(
        assertion,
      );
      expect({ ...verified, scopes: [...verified.scopes] }).toEqual({
        userId: alice.userId,
        actor: 'backend',
        scopes: ['billing:charge'],
        tokenId: expect.stringMatching(UUID),
        expiresAt: expect.any(Number),
      });
      await expect(
        createUserAssertionVerifier(settings('filesystem-server')).verify(assertion),
      ).rejects.toThrow(TokenRejectedError);
    });

    it('lives no longer than the user token it was exchanged for', async () => {
      const { key, kid } = await userSigningKey();
      const now = Math.floor(Date.now() / 1000);
      const shortLived = await craftUserToken(key, kid, { exp: now + 30 });
      const response = await exchange({ subject_token: shortLived, audience: 'billing-server' });
      expect(response.status).toBe(200);
      const { expires_in, access_token } = response.body as {
        expires_in: number;
        access_token: string;
      };
      expect(expires_in).toBeLessThanOrEqual(30);
      expect(decodeJwt(access_token).exp).toBeLessThanOrEqual(now + 30);
    });
  });

  describe('refuses', () => {
    it('a wrong client secret (401 invalid_client)', async () => {
      const response = await exchange(
        { subject_token: alice.accessToken, audience: 'billing-server' },
        ['backend', secret()],
      );
      expectRefused(response, 401, 'invalid_client');
    });

    it("a client that is not the user token's audience (invalid_grant)", async () => {
      for (const client of [
        ['auth-server', SECRETS.authServer],
        ['operator', SECRETS.operator],
      ] as [string, string][]) {
        expectRefused(
          await exchange({ subject_token: alice.accessToken, audience: 'billing-server' }, client),
          400,
          'invalid_grant',
        );
      }
    });

    it('an expired, a forged and an other-typ subject token (invalid_grant)', async () => {
      const { key, kid } = await userSigningKey();
      const now = Math.floor(Date.now() / 1000);
      const forger = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
      const subjects = {
        expired: await craftUserToken(key, kid, { iat: now - 700, exp: now - 100 }),
        forged: await craftUserToken(forger.privateKey, kid),
        otherTyp: await craftUserToken(key, kid, { typ: 'at+jwt' }),
        otherAudience: await craftUserToken(key, kid, { aud: 'billing-server' }),
        tampered: withFlippedSignatureBit(alice.accessToken),
        garbage: 'not-a-token',
      };
      for (const [name, subject] of Object.entries(subjects)) {
        const response = await exchange({ subject_token: subject, audience: 'billing-server' });
        expect({
          name,
          status: response.status,
          error: (response.body as { error: string }).error,
        }).toEqual({
          name,
          status: 400,
          error: 'invalid_grant',
        });
      }
      // The real key still works: what was refused was each token's fault.
      expect(
        (
          await exchange({
            subject_token: await craftUserToken(key, kid),
            audience: 'billing-server',
          })
        ).status,
      ).toBe(200);
    });

    it('a service token, or a user assertion, as the subject token (invalid_grant)', async () => {
      const serviceToken = (
        (
          await tokenRequest(
            { grant_type: 'client_credentials', audience: 'billing-server' },
            'backend',
            SECRETS.backend,
          )
        ).body as { access_token: string }
      ).access_token;
      const assertion = (
        (await exchange({ subject_token: alice.accessToken, audience: 'billing-server' })).body as {
          access_token: string;
        }
      ).access_token;
      for (const subject of [serviceToken, assertion]) {
        expectRefused(
          await exchange({ subject_token: subject, audience: 'billing-server' }),
          400,
          'invalid_grant',
        );
      }
    });

    it('an audience or a scope outside the client policy (invalid_target, invalid_scope)', async () => {
      expectRefused(
        await exchange({ subject_token: alice.accessToken, audience: 'backend' }),
        400,
        'invalid_target',
      );
      expectRefused(
        await exchange({ subject_token: alice.accessToken, audience: 'nowhere' }),
        400,
        'invalid_target',
      );
      expectRefused(
        await exchange({
          subject_token: alice.accessToken,
          audience: 'billing-server',
          scope: 'billing:accounts.write',
        }),
        400,
        'invalid_scope',
      );
    });

    it('a request without subject_token, with another subject_token_type or requested_token_type, or with an actor_token (invalid_request)', async () => {
      const cases: Record<string, string>[] = [
        { audience: 'billing-server' },
        {
          subject_token: alice.accessToken,
          subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
          audience: 'billing-server',
        },
        {
          subject_token: alice.accessToken,
          requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token',
          audience: 'billing-server',
        },
        {
          subject_token: alice.accessToken,
          actor_token: alice.accessToken,
          actor_token_type: ACCESS_TOKEN,
          audience: 'billing-server',
        },
        { subject_token: alice.accessToken },
      ];
      for (const fields of cases) {
        expectRefused(await exchange(fields), 400, 'invalid_request');
      }
    });

    it('a user token whose session ended: logged out, or the password changed', async () => {
      const bob = await registerUser(auth().url, { 'X-INTERNAL-TOKEN': internalToken });
      expect(
        (await exchange({ subject_token: bob.accessToken, audience: 'billing-server' })).status,
      ).toBe(200);
      const { jti, exp } = decodeJwt(bob.accessToken);
      const revoked = await request(`${auth().url}/revocations`, {
        method: 'POST',
        headers: { 'X-INTERNAL-TOKEN': internalToken },
        json: { user_id: bob.userId, jti, expires_at: exp },
      });
      expect(revoked.status).toBe(204);
      expectRefused(
        await exchange({ subject_token: bob.accessToken, audience: 'billing-server' }),
        400,
        'invalid_grant',
      );

      const carol = await registerUser(auth().url, { 'X-INTERNAL-TOKEN': internalToken });
      const changed = await request(`${auth().url}/users/${carol.userId}/password`, {
        method: 'POST',
        headers: { 'X-INTERNAL-TOKEN': internalToken },
        json: { current_password: carol.password, new_password: `${carol.password} again` },
      });
      expect(changed.status).toBe(204);
      expectRefused(
        await exchange({ subject_token: carol.accessToken, audience: 'billing-server' }),
        400,
        'invalid_grant',
      );
    });
  });

  it('advertises the grant in its metadata (RFC 8414)', async () => {
    const response = await request(`${auth().url}/.well-known/oauth-authorization-server`);
    expect((response.body as { grant_types_supported: string[] }).grant_types_supported).toEqual([
      'client_credentials',
      EXCHANGE,
    ]);
  });

  it('never writes a user token or an assertion to its log', async () => {
    const response = await exchange({
      subject_token: alice.accessToken,
      audience: 'billing-server',
    });
    const assertion = (response.body as { access_token: string }).access_token;
    // Lines reach the pipe a little after their answers: the issuance's first.
    const issued = (line: Record<string, unknown>) => line['event'] === 'user_assertion_issued';
    expect(await waitForLogLine(auth(), issued, 10_000)).toBeDefined();
    const log = auth().output();
    for (const value of [alice.accessToken, assertion, assertion.split('.')[2], SECRETS.backend]) {
      expect(log).not.toContain(value);
    }
  });
});
