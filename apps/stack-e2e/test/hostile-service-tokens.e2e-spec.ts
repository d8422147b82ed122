import {
  rawRequest,
  request,
  ServiceIdentityStack,
  type TestResponse,
  type TokenTarget,
} from '@zt/test-kit';
import { base64url, decodeJwt, type JWK, SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';

// Issue 13 item 6, the hostile catalogue, against real processes: billing and the filesystem
// in INTERNAL_AUTH_MODE=jwt, verifying against the real auth server's key set. Genuine tokens
// come from POST /oauth2/token; tokens the auth server would never issue (another issuer, no
// audience, expired, ...) are signed with its own key, read from its key file, so the
// signature is never the reason for a refusal unless the test says so. Each refusal is checked
// for its status, body and WWW-Authenticate error and, at a route that moves money, for
// billing's books: the balance and the ledger are as before. docs/service-identity.md,
// "Hostile catalogue", lists what covers each case.

// Short-lived tokens, so the revocation case can wait for one to expire (60 is the least).
const TOKEN_TTL_SECONDS = 60;
const AMOUNT = 1;

type Refusal = 'invalid_token' | 'insufficient_scope';

describe('hostile service tokens at billing and the filesystem (jwt mode, real processes)', () => {
  let sut: ServiceIdentityStack;
  const billing = () => sut.url('billing-server');

  beforeAll(async () => {
    sut = await ServiceIdentityStack.launch({
      withFilesystem: true,
      tokenTtlSeconds: TOKEN_TTL_SECONDS,
    });
  }, 240_000);

  afterAll(() => sut?.stop());

  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
  const backendToken = (target: TokenTarget) => sut.token('backend', target);

  /**
   * Billing's books for one user, as an auditor reads them: balance and ledger, with one
   * token for `billing:balance.read` and `billing:ledger.read`, which no client of the policy
   * holds together (signed with the issuer's key).
   */
  const books = async (userId: string) => {
    const auditor = bearer(
      await sut.signWithIssuerKey({
        clientId: 'ledger-auditor',
        claims: { scope: 'billing:balance.read billing:ledger.read' },
      }),
    );
    const [balance, ledger] = await Promise.all([
      request(`${billing()}/balance/${userId}`, { headers: auditor }),
      request(`${billing()}/ledger/${userId}`, { headers: auditor }),
    ]);
    expect([balance.status, ledger.status]).toEqual([200, 200]);
    return { balance: balance.body, ledger: (ledger.body as { entries: unknown[] }).entries };
  };

  const charge = (userId: string, headers: Record<string, string>) =>
    request(`${billing()}/deduct`, {
      method: 'POST',
      headers,
      json: { user_id: userId, amount: AMOUNT, reason: 'hostile' },
    });

  const expectRefused = (response: TestResponse, error: Refusal) => {
    expect({
      status: response.status,
      body: response.body,
      challenge: response.headers.get('www-authenticate'),
    }).toEqual(
      error === 'invalid_token'
        ? {
            status: 401,
            body: { error: 'unauthorized' },
            challenge: 'Bearer error="invalid_token"',
          }
        : {
            status: 403,
            body: { error: 'Forbidden' },
            challenge: 'Bearer error="insufficient_scope"',
          },
    );
  };

  /** A charge of a fresh account with `headers`, refused with `error`; the books do not move. */
  const expectChargeRefused = async (
    headers: Record<string, string> | ((userId: string) => Promise<Record<string, string>>),
    error: Refusal,
  ) => {
    const userId = await sut.openBillingAccount();
    const before = await books(userId);
    const sent = typeof headers === 'function' ? await headers(userId) : headers;
    expectRefused(await charge(userId, sent), error);
    expect(await books(userId)).toEqual(before);
  };

  /** A token the issuer's key signs: a charge token of the backend, but for `claims`. */
  const signed = (claims: Record<string, unknown>, header?: Record<string, unknown>) =>
    sut.signWithIssuerKey({ claims: { scope: 'billing:charge', ...claims }, header });
  const now = () => Math.floor(Date.now() / 1000);

  it('(control) a genuine charge token charges, and the books show it', async () => {
    const userId = await sut.openBillingAccount();
    const before = await books(userId);
    const token = await backendToken({ audience: 'billing-server', scope: 'billing:charge' });
    expect(await charge(userId, bearer(token))).toMatchObject({
      status: 200,
      body: { user_id: userId, balance: 4 },
    });
    const after = await books(userId);
    expect(after.balance).toEqual({ user_id: userId, tier: 'pro', balance: 4 });
    expect(after.ledger).toHaveLength(before.ledger.length + 1);
    expect(after.ledger[0]).toMatchObject({
      kind: 'deduct',
      amount: -AMOUNT,
      balance_after: 4,
    });
  });

  describe('a token for one callee, sent to another', () => {
    it("billing's token at the filesystem: 401 invalid_token", async () => {
      const token = await backendToken({ audience: 'billing-server' });
      const read = await request(`${sut.url('filesystem-server')}/files`, {
        headers: { ...bearer(token), 'X-User-ID': randomUUID() },
      });
      expectRefused(read, 'invalid_token');
      const write = await request(`${sut.url('filesystem-server')}/files/hostile.txt`, {
        method: 'PUT',
        headers: { ...bearer(token), 'X-User-ID': randomUUID() },
        body: 'written by a billing token',
      });
      expectRefused(write, 'invalid_token');
    });

    it("the filesystem's token, charging at billing: 401 invalid_token, nothing taken", async () => {
      const token = await backendToken({ audience: 'filesystem-server' });
      expect(decodeJwt(token)).toMatchObject({
        aud: 'filesystem-server',
        scope: 'files:read files:write files:act-as-user',
      });
      await expectChargeRefused(bearer(token), 'invalid_token');
    });

    it('the filesystem server itself gets no token, and a verified filesystem identity may not charge', async () => {
      const refused = await sut.requestToken('filesystem-server', { audience: 'billing-server' });
      expect(refused).toMatchObject({ status: 400, body: { error: 'unauthorized_client' } });
      // Were the policy to hand it a billing token anyway, it would carry no billing scope.
      const token = await sut.signWithIssuerKey({
        clientId: 'filesystem-server',
        claims: { scope: 'files:write' },
      });
      await expectChargeRefused(bearer(token), 'insufficient_scope');
    });
  });

  describe('a user token where a service token is expected', () => {
    it("a user's access token, as the auth server signs it at login: 401 invalid_token", async () => {
      await expectChargeRefused(
        async (userId) => bearer(await sut.userToken(userId)),
        'invalid_token',
      );
    });

    it('a backend charge token typed as a user token (typ JWT), under the service key: 401', async () => {
      // Only the type is wrong: without it, this token charges (see the control).
      await expectChargeRefused(bearer(await signed({}, { typ: 'JWT' })), 'invalid_token');
    });
    // The reverse, a service token at the backend's user routes, is refused by
    // apps/backend/test/authentication.e2e-spec.ts against the whole stack.
  });

  describe('forged and malformed tokens', () => {
    it('alg none: 401', async () => {
      const claims = decodeJwt(await signed({}));
      const header = { alg: 'none', typ: 'at+jwt', kid: (await sut.issuerSigningKey()).kid };
      const token = `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(claims))}.`;
      await expectChargeRefused(bearer(token), 'invalid_token');
    });

    it('HS256 with the public key as the HMAC secret (the published JWK, and its raw bytes): 401', async () => {
      const jwks = (await request(`${sut.issuer}/oauth2/jwks`)).body as { keys: JWK[] };
      const [published] = jwks.keys;
      const claims = decodeJwt(await signed({}));
      const secrets = [
        new TextEncoder().encode(JSON.stringify(published)),
        base64url.decode(published.x as string),
      ];
      for (const secret of secrets) {
        const token = await new SignJWT(claims)
          .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: published.kid })
          .sign(secret);
        await expectChargeRefused(bearer(token), 'invalid_token');
      }
    });

    it('another issuer: 401', async () => {
      await expectChargeRefused(
        bearer(await signed({ iss: 'https://auth.elsewhere.example' })),
        'invalid_token',
      );
    });

    it('no audience: 401', async () => {
      await expectChargeRefused(bearer(await signed({ aud: undefined })), 'invalid_token');
    });

    it('expired: 401', async () => {
      const token = await signed({ iat: now() - 120, exp: now() - 10 });
      await expectChargeRefused(bearer(token), 'invalid_token');
    });

    it('not yet valid (nbf ahead), and issued in the future: 401', async () => {
      await expectChargeRefused(bearer(await signed({ nbf: now() + 120 })), 'invalid_token');
      await expectChargeRefused(
        bearer(await signed({ iat: now() + 120, exp: now() + 180 })),
        'invalid_token',
      );
    });

    it('a lifetime over the 10-minute maximum: 401', async () => {
      await expectChargeRefused(
        bearer(await signed({ iat: now(), exp: now() + 601 })),
        'invalid_token',
      );
    });
  });

  describe('a genuine token without the right scope', () => {
    it("the backend's balance-read token, charging: 403 insufficient_scope", async () => {
      const token = await backendToken({
        audience: 'billing-server',
        scope: 'billing:balance.read',
      });
      await expectChargeRefused(bearer(token), 'insufficient_scope');
    });

    it("the metrics scraper's billing token, charging: 403 insufficient_scope", async () => {
      const token = await sut.token('metrics-scraper', { audience: 'billing-server' });
      await expectChargeRefused(bearer(token), 'insufficient_scope');
    });

    it("the backend's charge token, opening an account: 403 insufficient_scope", async () => {
      const token = await backendToken({ audience: 'billing-server' });
      const userId = randomUUID();
      const opened = await request(`${billing()}/account`, {
        method: 'POST',
        headers: bearer(token),
        json: { user_id: userId, tier: 'team' },
      });
      expectRefused(opened, 'insufficient_scope');
      const auditor = await sut.signWithIssuerKey({
        clientId: 'ledger-auditor',
        claims: { scope: 'billing:balance.read' },
      });
      expect(
        await request(`${billing()}/balance/${userId}`, { headers: bearer(auditor) }),
      ).toMatchObject({ status: 404, body: { error: 'account not found' } });
    });
  });

  it('two Authorization headers, each with a genuine charge token, or two tokens in one: 401', async () => {
    const userId = await sut.openBillingAccount();
    const before = await books(userId);
    const token = await backendToken({ audience: 'billing-server', scope: 'billing:charge' });
    const body = JSON.stringify({ user_id: userId, amount: AMOUNT });
    const json = ['Content-Type', 'application/json'];
    for (const authorization of [
      ['Authorization', `Bearer ${token}`, 'Authorization', `Bearer ${token}`],
      ['Authorization', `Bearer ${token}, Bearer ${token}`],
    ]) {
      const response = await rawRequest(`${billing()}/deduct`, {
        method: 'POST',
        rawHeaders: [...json, ...authorization],
        body,
      });
      expectRefused(response, 'invalid_token');
    }
    expect(await books(userId)).toEqual(before);
  });

  describe('a revoked client (secret removed, auth server restarted)', () => {
    afterEach(() => sut.restartAuthServer(), 120_000);

    it('gets no new token, while a token issued before stays valid until its exp, and not after', async () => {
      const token = await backendToken({ audience: 'billing-server', scope: 'billing:charge' });
      const { exp } = decodeJwt(token) as { exp: number };

      await sut.restartAuthServer(['backend']);
      expect(await sut.requestToken('backend', { audience: 'billing-server' })).toMatchObject({
        status: 401,
        body: { error: 'invalid_client' },
      });

      // Verification is local: billing knows nothing of the revocation.
      const userId = await sut.openBillingAccount();
      expect(Date.now() / 1000).toBeLessThan(exp);
      expect(await charge(userId, bearer(token))).toMatchObject({
        status: 200,
        body: { user_id: userId, balance: 4 },
      });

      await new Promise((resolve) => setTimeout(resolve, exp * 1000 + 1000 - Date.now()));
      await expectChargeRefused(bearer(token), 'invalid_token');
    }, 240_000);
  });
});
