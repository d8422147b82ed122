import { launchStack, type ServiceStack } from '@zt/stack-launcher';
import type { ServiceAudience } from '@zt/contracts';
import {
  inheritedProcessEnvironment,
  request,
  scratchDatabaseFor,
  StackCredentials,
  testBackends,
} from '@zt/test-kit';
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PASSWORD = 'correct horse battery staple';

describe.each(testBackends())('auth-server with billing, as processes on %s', (backend) => {
  // In the mode E2E_INTERNAL_AUTH_MODE names: npm test runs this suite in token and token+jwt.
  const credentials = new StackCredentials();
  // The issuer its tokens name, wherever it listens. With service identity billing fetches
  // the issuer's keys from that URL, so there it must be where the auth server listens.
  const fixedIssuer = credentials.mode === 'token' ? 'http://auth.test' : undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'auth-e2e-'));
  let stack: ServiceStack;
  let drop: () => Promise<void>;
  // The current process of each (both are restarted below).
  const auth = () => stack.process('auth-server');
  const billing = () => stack.process('billing-server');

  beforeAll(async () => {
    const scratch = await scratchDatabaseFor(backend);
    drop = scratch.drop;
    stack = await launchStack({
      services: ['billing-server', 'auth-server'],
      env: {
        ...inheritedProcessEnvironment(),
        ...credentials.environment(),
        DATA_DIR: dataDir,
        DATABASE_URL: scratch.url,
      },
      serviceEnv: {
        'auth-server': { CIRCUIT_BREAKER_RESET_MS: '200', INTERNAL_HTTP_TIMEOUT_MS: '2000' },
      },
      ...(fixedIssuer === undefined ? {} : { urls: { 'auth-server': fixedIssuer } }),
    });
  });

  afterAll(async () => {
    await stack?.stopAll();
    await drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const issuer = () => fixedIssuer ?? auth().url;
  /**
   * The internal credential of a call as `clientId` (in `token` mode the shared token,
   * whoever the caller): the operator makes invites and reads stats, the backend keeps
   * sessions and reads balances.
   */
  const internal = (clientId: 'operator' | 'backend', audience: ServiceAudience = 'auth-server') =>
    credentials.headers(auth().url, clientId, audience);
  const invite = async (tier: string) => {
    const response = await request(`${auth().url}/invites`, {
      method: 'POST',
      json: { tier },
      headers: await internal('operator'),
    });
    expect(response.status).toBe(201);
    return (response.body as { invite_code: string }).invite_code;
  };
  const register = (email: string, inviteCode: string, password = PASSWORD) =>
    request(`${auth().url}/register`, {
      method: 'POST',
      json: { email, password, invite_code: inviteCode },
    });
  const login = (email: string, password = PASSWORD) =>
    request(`${auth().url}/login`, { method: 'POST', json: { email, password } });
  const balanceOf = async (userId: string) =>
    request(`${billing().url}/balance/${userId}`, {
      headers: await internal('backend', 'billing-server'),
    });

  describe('invites', () => {
    it('are internal', async () => {
      const response = await request(`${auth().url}/invites`, {
        method: 'POST',
        json: { tier: 'team' },
      });
      expect(response).toMatchObject({ status: 403, body: { error: 'Forbidden' } });
    });

    it('exist only for real tiers', async () => {
      for (const tier of ['admin', '', 'PRO']) {
        const response = await request(`${auth().url}/invites`, {
          method: 'POST',
          json: { tier },
          headers: await internal('operator'),
        });
        expect(response.status).toBe(400);
      }
    });
  });

  describe('registration', () => {
    it('creates the user and, through billing, an account with the invite tier', async () => {
      const response = await register('Ada@Example.COM', await invite('team'));
      expect(response.status).toBe(201);
      const body = response.body as { user_id: string; email: string; tier: string };
      expect(body).toEqual({
        user_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        email: 'ada@example.com',
        tier: 'team',
      });
      expect(await balanceOf(body.user_id)).toMatchObject({
        status: 200,
        body: { tier: 'team', balance: 25 },
      });
    });

    it('refuses a weak password or a malformed request with 400 and keeps the invite', async () => {
      const code = await invite('free');
      expect(await register('weak@example.com', code, 'short pass!')).toMatchObject({
        status: 400,
      });
      expect(await register('not-an-email', code)).toMatchObject({ status: 400 });
      const extra = await request(`${auth().url}/register`, {
        method: 'POST',
        json: { email: 'x@example.com', password: PASSWORD, invite_code: code, tier: 'team' },
      });
      expect(extra.status).toBe(400);
      expect(await register('weak@example.com', code)).toMatchObject({
        status: 201,
        body: { tier: 'free' },
      });
    });

    it('counts a password in characters, not UTF-16 units, and refuses control characters in an email', async () => {
      const code = await invite('free');
      // Six emoji are twelve UTF-16 units but six characters: too short.
      expect(await register('emoji@example.com', code, '🔑'.repeat(6))).toMatchObject({
        status: 400,
        body: {
          details: [{ field: 'password', message: 'must be at least 12 characters' }],
        },
      });
      for (const email of [
        'nul\u0000@example.com',
        'bell\u0007@example.com',
        'c1\u0085@example.com',
      ]) {
        expect(await register(email, code)).toMatchObject({
          status: 400,
          body: { details: [{ field: 'email', message: 'must not contain control characters' }] },
        });
        // At login too: a 400, never the 500 a NUL once caused in the database.
        expect(await login(email)).toMatchObject({ status: 400 });
      }
      // The invite was not spent: twelve emoji are twelve characters.
      expect(await register('emoji@example.com', code, '🔑'.repeat(12))).toMatchObject({
        status: 201,
      });
      expect((await login('emoji@example.com', '🔑'.repeat(12))).status).toBe(200);
    });

    it('refuses an unknown or used invite with 403', async () => {
      expect(await register('nobody@example.com', 'A'.repeat(32))).toMatchObject({
        status: 403,
        body: { error: 'invalid invite' },
      });
      const code = await invite('pro');
      expect((await register('first@example.com', code)).status).toBe(201);
      expect(await register('second@example.com', code)).toMatchObject({
        status: 403,
        body: { error: 'invalid invite' },
      });
    });

    it('refuses a taken email with 409 without burning the invite', async () => {
      const code = await invite('pro');
      expect(await register('ADA@example.com', code)).toMatchObject({ status: 409 });
      expect((await register('ada2@example.com', code)).status).toBe(201);
    });
  });

  describe('login and tokens', () => {
    it('issues a short-lived EdDSA token that verifies against the JWKS', async () => {
      const registered = (await register('token@example.com', await invite('pro'))).body as {
        user_id: string;
      };
      const response = await login('Token@Example.com');
      expect(response.status).toBe(200);
      const body = response.body as {
        access_token: string;
        token_type: string;
        expires_in: number;
      };
      expect(body).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 900,
      });

      const jwks = (await request(`${auth().url}/.well-known/jwks.json`)).body as JSONWebKeySet;
      expect(JSON.stringify(jwks)).not.toContain('"d"');
      const { payload, protectedHeader } = await jwtVerify(
        body.access_token,
        createLocalJWKSet(jwks),
        {
          issuer: issuer(),
          audience: 'backend',
          algorithms: ['EdDSA'],
          requiredClaims: ['exp', 'iat', 'sub'],
        },
      );
      expect(payload.sub).toBe(registered.user_id);
      expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBeLessThanOrEqual(900);
      expect(protectedHeader.kid).toBe(jwks.keys[0].kid);
    });

    it('answers an unknown email and a wrong password identically', async () => {
      const unknown = await login('ghost@example.com');
      const wrong = await login('ada@example.com', 'not the password at all');
      expect(unknown).toMatchObject({ status: 401, body: { error: 'invalid credentials' } });
      expect(wrong.status).toBe(unknown.status);
      expect(wrong.body).toEqual(unknown.body);
    });
  });

  describe('password guessing', () => {
    it('is refused with 429 after 10 failed logins of one email, even with the right password', async () => {
      await register('guessed@example.com', await invite('free'));
      for (let i = 0; i < 10; i += 1) {
        expect((await login('guessed@example.com', `wrong password ${i}`)).status).toBe(401);
      }
      const refused = await login('guessed@example.com');
      expect(refused).toMatchObject({
        status: 429,
        body: {
          error: 'too many failed logins; try again later',
          retry_after_seconds: expect.any(Number),
        },
      });
      // Another account is not affected.
      expect((await login('token@example.com')).status).toBe(200);
    });

    it('throttles a parallel burst as it would a sequence: at most 10 password checks', async () => {
      await register('burst@example.com', await invite('free'));
      // 40 guesses at once: before, each got a password check (the failures were counted
      // only after it), so a burst could try 40 passwords where a sequence tries 10.
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) => login('burst@example.com', `wrong password ${i}`)),
      );
      const statuses = answers.map((answer) => answer.status);
      expect(statuses.filter((status) => status === 429)).toHaveLength(30);
      expect(statuses.filter((status) => status !== 429).sort()).toEqual(Array(10).fill(401));
      expect((await login('burst@example.com')).status).toBe(429);
    });
  });

  describe('ending sessions', () => {
    const NEW_PASSWORD = 'a new passphrase, long enough';
    const feed = async (after = '0') =>
      (
        await request(`${auth().url}/revocations?after=${after}`, {
          headers: await internal('backend'),
        })
      ).body as {
        revocations: Array<{
          seq: string;
          user_id: string;
          jti: string | null;
          not_before: number | null;
          expires_at: number;
        }>;
        next_after: string | null;
      };
    const claimsOf = (accessToken: string) =>
      JSON.parse(Buffer.from(accessToken.split('.')[1], 'base64url').toString('utf8')) as {
        sub: string;
        jti: string;
        iat: number;
        exp: number;
      };
    const signIn = async (email: string, password = PASSWORD) => {
      const response = await login(email, password);
      expect(response.status).toBe(200);
      return claimsOf((response.body as { access_token: string }).access_token);
    };
    const changePassword = async (userId: string, body: unknown) =>
      request(`${auth().url}/users/${userId}/password`, {
        method: 'POST',
        json: body,
        headers: await internal('backend'),
      });

    it('revokes one token by its jti, once, and publishes it in the feed', async () => {
      await register('logout@example.com', await invite('free'));
      const claims = await signIn('logout@example.com');
      const before = await feed();
      const revoke = async () =>
        request(`${auth().url}/revocations`, {
          method: 'POST',
          json: { user_id: claims.sub, jti: claims.jti, expires_at: claims.exp },
          headers: await internal('backend'),
        });
      expect((await revoke()).status).toBe(204);
      expect((await revoke()).status).toBe(204);
      const after = await feed(before.revocations.at(-1)?.seq ?? '0');
      expect(after.revocations).toEqual([
        {
          seq: expect.stringMatching(/^[1-9][0-9]*$/),
          user_id: claims.sub,
          jti: claims.jti,
          not_before: null,
          expires_at: claims.exp,
        },
      ]);
    });

    it('refuses to revoke without the internal token, for an unknown user, or past any lifetime', async () => {
      const claims = await signIn('logout@example.com');
      const body = { user_id: claims.sub, jti: claims.jti, expires_at: claims.exp };
      expect(
        await request(`${auth().url}/revocations`, { method: 'POST', json: body }),
      ).toMatchObject({ status: 403 });
      expect(await request(`${auth().url}/revocations`)).toMatchObject({ status: 403 });
      const post = async (json: unknown) =>
        request(`${auth().url}/revocations`, {
          method: 'POST',
          json,
          headers: await internal('backend'),
        });
      expect(
        await post({ ...body, user_id: '00000000-0000-4000-8000-000000000000' }),
      ).toMatchObject({ status: 404, body: { error: 'user not found' } });
      expect(await post({ ...body, expires_at: claims.exp + 86_400 })).toMatchObject({
        status: 400,
      });
      expect(await post({ ...body, jti: 'not-a-uuid' })).toMatchObject({ status: 400 });
      expect(await post({ ...body, extra: true })).toMatchObject({ status: 400 });
    });

    it('changes a password only with the current one, and then revokes every earlier token', async () => {
      const { user_id: userId } = (await register('rotate@example.com', await invite('free')))
        .body as { user_id: string };
      const old = await signIn('rotate@example.com');

      expect(
        await changePassword(userId, {
          current_password: 'wrong password!',
          new_password: NEW_PASSWORD,
        }),
      ).toMatchObject({ status: 401, body: { error: 'invalid credentials' } });
      expect(
        await changePassword(userId, { current_password: PASSWORD, new_password: 'short' }),
      ).toMatchObject({ status: 400 });
      expect(await login('rotate@example.com', NEW_PASSWORD)).toMatchObject({ status: 401 });

      const before = await feed();
      expect(
        (await changePassword(userId, { current_password: PASSWORD, new_password: NEW_PASSWORD }))
          .status,
      ).toBe(204);
      const [cutoff] = (await feed(before.revocations.at(-1)?.seq ?? '0')).revocations;
      expect(cutoff).toMatchObject({ user_id: userId, jti: null });
      // Every token issued before the change is older than the cutoff; every one after is not.
      expect(old.iat).toBeLessThan(cutoff.not_before ?? 0);
      expect(await login('rotate@example.com')).toMatchObject({ status: 401 });
      const fresh = await signIn('rotate@example.com', NEW_PASSWORD);
      expect(fresh.iat).toBeGreaterThanOrEqual(cutoff.not_before ?? Infinity);
    });

    it('answers a password change for an unknown user like a wrong password', async () => {
      expect(
        await changePassword('00000000-0000-4000-8000-000000000000', {
          current_password: PASSWORD,
          new_password: NEW_PASSWORD,
        }),
      ).toMatchObject({ status: 401, body: { error: 'invalid credentials' } });
      expect(
        await changePassword('not-a-uuid', {
          current_password: PASSWORD,
          new_password: NEW_PASSWORD,
        }),
      ).toMatchObject({ status: 400 });
    });
  });

  describe('stats', () => {
    it('are internal, and count users here and subscriptions in billing', async () => {
      expect((await request(`${auth().url}/stats`)).status).toBe(403);
      const response = await request(`${auth().url}/stats`, {
        headers: await internal('operator'),
      });
      expect(response.status).toBe(200);
      const body = response.body as {
        users: number;
        subscription_count: number;
        by_tier: Record<string, number>;
      };
      expect(body.users).toBeGreaterThanOrEqual(5);
      expect(body.subscription_count).toBe(body.users);
      expect(Object.keys(body.by_tier).sort()).toEqual(['free', 'pro', 'team']);
    });
  });

  describe('when billing is down', () => {
    it('answers 503, leaves no half-made user, keeps the invite, and recovers when billing returns', async () => {
      const code = await invite('pro');
      const users = (
        (await request(`${auth().url}/stats`, { headers: await internal('operator') })).body as {
          users: number;
        }
      ).users;
      await stack.stop('billing-server');

      expect(await register('during-outage@example.com', code)).toMatchObject({
        status: 503,
        body: { error: 'billing unavailable' },
      });
      expect(
        await request(`${auth().url}/stats`, { headers: await internal('operator') }),
      ).toMatchObject({
        status: 503,
        body: { error: 'billing unavailable' },
      });
      expect((await login('during-outage@example.com')).status).toBe(401);

      await stack.start('billing-server');
      let registered = await register('during-outage@example.com', code);
      // The breaker may still be open for its reset period; it then lets a trial call through.
      for (let attempt = 0; registered.status === 503 && attempt < 50; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        registered = await register('during-outage@example.com', code);
      }
      expect(registered).toMatchObject({ status: 201, body: { tier: 'pro' } });
      const after = (await request(`${auth().url}/stats`, { headers: await internal('operator') }))
        .body as {
        users: number;
      };
      expect(after.users).toBe(users + 1);
    });
  });

  it('keeps its signing key across a restart, so issued tokens stay valid', async () => {
    const before = (await login('ada@example.com')).body as { access_token: string };
    await stack.restart('auth-server');
    const jwks = (await request(`${auth().url}/.well-known/jwks.json`)).body as JSONWebKeySet;
    expect(jwks.keys.map((key) => key.kid)).toContain(
      decodeProtectedHeader(before.access_token).kid,
    );
    await expect(
      jwtVerify(before.access_token, createLocalJWKSet(jwks), {
        issuer: issuer(),
        audience: 'backend',
      }),
    ).resolves.toBeDefined();
  });

  it('never writes a password, the internal token or a client secret to its log, nor an unhandled error', () => {
    expect(auth().output() + billing().output()).not.toContain(PASSWORD);
    for (const secret of credentials.secrets()) {
      expect(auth().output() + billing().output()).not.toContain(secret);
    }
    expect(auth().output()).not.toContain('unhandled_error');
  });
});
