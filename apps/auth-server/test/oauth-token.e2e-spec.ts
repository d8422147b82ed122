import { createServiceTokenVerifier, DEFAULT_KEY_SET, TokenRejectedError } from '@zt/service-utils';
import { launchStack, type ServiceStack } from '@zt/stack-launcher';
import {
  basicCredentials,
  generateToken,
  inheritedProcessEnvironment,
  jsonLogLines,
  rawRequest,
  readMetric,
  request,
  type TestResponse,
  waitForLogLine,
} from '@zt/test-kit';
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  type JSONWebKeySet,
  jwtVerify,
} from 'jose';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// POST /oauth2/token, the service-token key set and the metadata, against the real auth
// server (with billing, for the user tokens it is compared with). DESIGN section 9.

const ISSUER = 'http://auth.test';
const FILES_URL = 'http://files.test:7002/fs';
const secret = () => randomBytes(32).toString('base64url');
const SECRETS = {
  backend: secret(),
  authServer: secret(),
  authServerNext: randomBytes(32).toString('hex'),
  billing: secret(),
  scraper: secret(),
};
// The read-only scrape credential of GET /metrics (METRICS_TOKEN).
const METRICS_TOKEN = secret();
const FORM = 'application/x-www-form-urlencoded';
const PASSWORD = 'correct horse battery staple';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('auth-server token endpoint (client credentials), as a process', () => {
  const internalToken = generateToken();
  const dataDir = mkdtempSync(join(tmpdir(), 'auth-oauth-e2e-'));
  let stack: ServiceStack;
  const auth = () => stack.process('auth-server');
  const billingUrl = () => stack.process('billing-server').url;

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
          AUTH_SERVER_CLIENT_SECRET_NEXT: SECRETS.authServerNext,
          BILLING_SERVER_CLIENT_SECRET: SECRETS.billing,
          METRICS_SCRAPER_CLIENT_SECRET: SECRETS.scraper,
          METRICS_TOKEN,
          // FILESYSTEM_SERVER_CLIENT_SECRET unset: that client cannot authenticate.
          FILESYSTEM_SERVER_URL: FILES_URL,
          SERVICE_TOKEN_TTL_SECONDS: '120',
        },
      },
      urls: { 'auth-server': ISSUER },
      // The 2-core machine may be busy: a slow start is not what this suite tests.
      startTimeoutMs: 180_000,
    });
  }, 240_000);

  afterAll(async () => {
    await stack?.stopAll();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const tokenRequest = (form: string, headers: Record<string, string> = {}) =>
    request(`${auth().url}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': FORM, ...headers },
      body: form,
    });
  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
  const asBackend = (fields: Record<string, string>) =>
    tokenRequest(form({ grant_type: 'client_credentials', ...fields }), {
      Authorization: basicCredentials('backend', SECRETS.backend),
    });
  const serviceKeys = async () =>
    (await request(`${auth().url}/oauth2/jwks`)).body as JSONWebKeySet;
  const userKeys = async () =>
    (await request(`${auth().url}/.well-known/jwks.json`)).body as JSONWebKeySet;

  /** Verifies a service token as a resource server would (DESIGN section 9). */
  const verifyServiceToken = async (token: string, audience: string) =>
    jwtVerify(token, createLocalJWKSet(await serviceKeys()), {
      issuer: ISSUER,
      audience,
      algorithms: ['EdDSA'],
      typ: 'at+jwt',
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id', 'scope'],
    });
  /** Verifies a user token exactly as the backend does (apps/backend/src/auth/user-token.verifier.ts). */
  const verifyUserToken = async (token: string) =>
    jwtVerify(token, createLocalJWKSet(await userKeys()), {
      issuer: ISSUER,
      audience: 'backend',
      algorithms: ['EdDSA'],
      typ: 'JWT',
      requiredClaims: ['exp', 'iat', 'sub', 'jti'],
      maxTokenAge: 900,
    });

  const expectNoStore = (response: TestResponse) => {
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('pragma')).toBe('no-cache');
  };
  const expectRefused = (response: TestResponse, status: number, error: string) => {
    expect({ status: response.status, body: response.body }).toEqual({
      status,
      body: { error, error_description: expect.any(String) },
    });
    expectNoStore(response);
    if (status === 401) {
      expect(response.headers.get('www-authenticate')).toBe('Basic realm="auth-server"');
    } else {
      expect(response.headers.get('www-authenticate')).toBeNull();
    }
  };

  describe('issues', () => {
    it('a token to client_secret_basic with audience: RFC 9068 header and claims, verified against the published key set', async () => {
      const response = await asBackend({ audience: 'billing-server' });
      expect(response).toMatchObject({
        status: 200,
        body: {
          access_token: expect.any(String),
          token_type: 'Bearer',
          expires_in: 120,
          scope: 'billing:balance.read billing:charge billing:refund',
        },
      });
      expectNoStore(response);
      const token = (response.body as { access_token: string }).access_token;
      const { payload, protectedHeader } = await verifyServiceToken(token, 'billing-server');
      const keys = await serviceKeys();
      expect(protectedHeader).toEqual({ alg: 'EdDSA', typ: 'at+jwt', kid: keys.keys[0].kid });
      expect(keys.keys).toEqual([
        {
          kty: 'OKP',
          crv: 'Ed25519',
          x: expect.any(String),
          kid: expect.any(String),
          alg: 'EdDSA',
          use: 'sig',
        },
      ]);
      expect(payload).toEqual({
        iss: ISSUER,
        sub: 'backend',
        client_id: 'backend',
        aud: 'billing-server',
        scope: 'billing:balance.read billing:charge billing:refund',
        iat: expect.any(Number),
        exp: (payload.iat as number) + 120,
        jti: expect.stringMatching(UUID),
      });
      expect(Math.abs((payload.iat as number) - Date.now() / 1000)).toBeLessThan(60);
    });

    it('a new jti for every token', async () => {
      const [first, second] = await Promise.all([
        asBackend({ audience: 'billing-server' }),
        asBackend({ audience: 'billing-server' }),
      ]);
      const jti = (response: TestResponse) =>
        decodeJwt((response.body as { access_token: string }).access_token).jti;
      expect(jti(first)).not.toBe(jti(second));
    });

    it('a token to client_secret_post with resource (the callee base URL, RFC 8707)', async () => {
      const response = await tokenRequest(
        form({
          grant_type: 'client_credentials',
          client_id: 'auth-server',
          client_secret: SECRETS.authServer,
          resource: billingUrl(),
        }),
      );
      expect(response.status).toBe(200);
      const token = (response.body as { access_token: string }).access_token;
      const { payload } = await verifyServiceToken(token, 'billing-server');
      expect(payload).toMatchObject({
        sub: 'auth-server',
        client_id: 'auth-server',
        aud: 'billing-server',
        scope: 'billing:accounts.write billing:stats.read',
      });
    });

    it('maps a configured base URL with a trailing slash to its service', async () => {
      const response = await asBackend({ resource: `${FILES_URL}/` });
      expect(response).toMatchObject({
        status: 200,
        body: { scope: 'files:read files:write files:act-as-user' },
      });
      const token = (response.body as { access_token: string }).access_token;
      expect(decodeJwt(token).aud).toBe('filesystem-server');
    });

    it('exactly the scopes asked for, each once, in the policy order', async () => {
      const response = await asBackend({
        audience: 'filesystem-server',
        scope: 'files:act-as-user files:read files:read',
      });
      expect(response).toMatchObject({
        status: 200,
        body: { scope: 'files:read files:act-as-user' },
      });
      const token = (response.body as { access_token: string }).access_token;
      expect(decodeJwt(token).scope).toBe('files:read files:act-as-user');
    });

    it('every scope of the audience when scope is absent or empty', async () => {
      for (const fields of [{}, { scope: '' }] as Array<Record<string, string>>) {
        const response = await asBackend({ audience: 'billing-server', ...fields });
        expect(response.body).toMatchObject({
          scope: 'billing:balance.read billing:charge billing:refund',
        });
      }
    });

    it('to the next secret during a rotation, as to the current one', async () => {
      for (const clientSecret of [SECRETS.authServer, SECRETS.authServerNext]) {
        const response = await tokenRequest(
          form({ grant_type: 'client_credentials', audience: 'billing-server' }),
          { Authorization: basicCredentials('auth-server', clientSecret) },
        );
        expect(response.status).toBe(200);
      }
    });

    it('with a client_id in the form that repeats the Basic one, and a charset', async () => {
      const response = await tokenRequest(
        form({
          grant_type: 'client_credentials',
          client_id: 'backend',
          audience: 'billing-server',
        }),
        {
          Authorization: basicCredentials('backend', SECRETS.backend),
          'content-type': `${FORM}; charset=UTF-8`,
        },
      );
      expect(response.status).toBe(200);
    });
  });

  describe('answers invalid_client (401, WWW-Authenticate: Basic)', () => {
    it.each([
      ['a wrong secret (basic)', () => basicCredentials('backend', SECRETS.authServer), {}],
      ['a wrong secret (post)', undefined, { client_id: 'backend', client_secret: secret() }],
      ['another client’s secret', () => basicCredentials('auth-server', SECRETS.backend), {}],
      ['an unknown client', () => basicCredentials('mail-server', SECRETS.backend), {}],
      [
        'a client without a configured secret',
        () => basicCredentials('filesystem-server', secret()),
        {},
      ],
      ['no authentication', undefined, {}],
      ['a client_id alone', undefined, { client_id: 'backend' }],
      ['a Bearer token', () => `Bearer ${SECRETS.backend}`, {}],
    ] as Array<[string, (() => string) | undefined, Record<string, string>]>)(
      'to %s',
      async (_name, authorization, fields) => {
        const response = await tokenRequest(
          form({ grant_type: 'client_credentials', audience: 'billing-server', ...fields }),
          authorization ? { Authorization: authorization() } : {},
        );
        expectRefused(response, 401, 'invalid_client');
      },
    );

    it('before anything else about the request is judged', async () => {
      const response = await tokenRequest(form({ grant_type: 'password', audience: 'nowhere' }), {
        Authorization: basicCredentials('backend', 'wrong'),
      });
      expectRefused(response, 401, 'invalid_client');
    });
  });

  describe('answers invalid_request (400)', () => {
    it.each([
      ['both authentication methods', { client_secret: SECRETS.backend, client_id: 'backend' }],
      [
        'a repeated parameter',
        'grant_type=client_credentials&audience=billing-server&audience=billing-server',
      ],
      [
        'a repeated empty parameter',
        'grant_type=client_credentials&audience=billing-server&scope=&scope=',
      ],
      [
        'a malformed form (bad percent-encoding)',
        'grant_type=client_credentials&audience=billing%zz',
      ],
      [
        'a malformed form (raw non-ASCII)',
        'grant_type=client_credentials&audience=billing-server&x=\u00e9',
      ],
      ['a malformed form (invalid UTF-8)', 'grant_type=client_credentials&audience=%C3%28'],
      ['no grant_type', 'audience=billing-server'],
      ['no audience', 'grant_type=client_credentials'],
      [
        'audience and resource',
        `grant_type=client_credentials&audience=billing-server&resource=${encodeURIComponent('http://x.test')}`,
      ],
      ['a client_id in the form of another client', { client_id: 'auth-server' }],
    ] as Array<[string, string | Record<string, string>]>)('to %s', async (_name, body) => {
      const text =
        typeof body === 'string'
          ? body
          : form({ grant_type: 'client_credentials', audience: 'billing-server', ...body });
      const requestId = `refused-${randomBytes(6).toString('hex')}`;
      const response = await tokenRequest(text, {
        Authorization: basicCredentials('backend', SECRETS.backend),
        'X-Request-ID': requestId,
      });
      expectRefused(response, 400, 'invalid_request');
      // Log lines reach the pipe a little after their answers: the request's last one first.
      const ofRequest = (line: Record<string, unknown>) => line['request_id'] === requestId;
      const completed = (line: Record<string, unknown>) =>
        ofRequest(line) && line['msg'] === 'request completed';
      expect(await waitForLogLine(auth(), completed, 10_000)).toBeDefined();
      const issued = jsonLogLines(auth()).filter(
        (line) => ofRequest(line) && line['event'] === 'service_token_issued',
      );
      expect(issued).toEqual([]);
    });

    it.each([
      ['JSON', 'application/json', JSON.stringify({ grant_type: 'client_credentials' })],
      ['no content type', undefined, 'grant_type=client_credentials&audience=billing-server'],
      ['multipart', 'multipart/form-data; boundary=x', '--x--'],
    ])('to a %s body', async (_name, contentType, body) => {
      const response = await request(`${auth().url}/oauth2/token`, {
        method: 'POST',
        headers: {
          Authorization: basicCredentials('backend', SECRETS.backend),
          ...(contentType && { 'content-type': contentType }),
        },
        body,
      });
      expectRefused(response, 400, 'invalid_request');
    });

    it('to a repeated Authorization header', async () => {
      const body = form({ grant_type: 'client_credentials', audience: 'billing-server' });
      const response = await rawRequest(`${auth().url}/oauth2/token`, {
        method: 'POST',
        rawHeaders: [
          'Content-Type',
          FORM,
          'Authorization',
          basicCredentials('backend', SECRETS.backend),
          'authorization',
          basicCredentials('backend', SECRETS.backend),
        ],
        body,
      });
      expectRefused(response, 400, 'invalid_request');
    });

    it('to a form larger than 8 KiB, with 413', async () => {
      const response = await tokenRequest(
        form({
          grant_type: 'client_credentials',
          audience: 'billing-server',
          pad: 'x'.repeat(9000),
        }),
        { Authorization: basicCredentials('backend', SECRETS.backend) },
      );
      expectRefused(response, 413, 'invalid_request');
    });
  });

  describe('answers the other errors of RFC 6749 section 5.2', () => {
    it('unsupported_grant_type to another grant', async () => {
      for (const grant of [
        'password',
        'authorization_code',
        'refresh_token',
        'CLIENT_CREDENTIALS',
      ]) {
        expectRefused(
          await asBackend({ grant_type: grant, audience: 'billing-server' }),
          400,
          'unsupported_grant_type',
        );
      }
    });

    it('unauthorized_client to a client that may call nobody', async () => {
      const response = await tokenRequest(
        form({ grant_type: 'client_credentials', audience: 'billing-server' }),
        { Authorization: basicCredentials('billing-server', SECRETS.billing) },
      );
      expectRefused(response, 400, 'unauthorized_client');
    });

    it.each([
      ['an audience the client may not call', { audience: 'backend' }],
      ['an unknown audience', { audience: 'mail-server' }],
      ['an unknown resource', { resource: 'http://127.0.0.1:1' }],
      ['a resource with a fragment', { resource: `${FILES_URL}#x` }],
      ['a resource that is not a URL', { resource: 'billing-server' }],
    ])('invalid_target to %s', async (_name, fields) => {
      expectRefused(await asBackend(fields), 400, 'invalid_target');
    });

    it('invalid_target to the auth server asking for the filesystem', async () => {
      const response = await tokenRequest(
        form({ grant_type: 'client_credentials', audience: 'filesystem-server' }),
        { Authorization: basicCredentials('auth-server', SECRETS.authServer) },
      );
      expectRefused(response, 400, 'invalid_target');
    });

    it.each([
      ['a scope of another client', 'billing:accounts.write'],
      ['a scope of another audience', 'billing:charge files:read'],
      ['an unknown scope', 'billing:everything'],
      ['a malformed scope', 'billing:charge  billing:refund'],
    ])('invalid_scope to %s', async (_name, scope) => {
      expectRefused(await asBackend({ audience: 'billing-server', scope }), 400, 'invalid_scope');
    });
  });

  it("passes the trust kit's verifier of its audience, and only that one", async () => {
    const issued = await asBackend({ audience: 'billing-server', scope: 'billing:charge' });
    const token = (issued.body as { access_token: string }).access_token;
    const kitVerifier = (audience: string) =>
      createServiceTokenVerifier({
        issuer: ISSUER,
        jwksUrl: new URL(`${auth().url}/oauth2/jwks`),
        audience,
        keySet: DEFAULT_KEY_SET,
      });
    const caller = await kitVerifier('billing-server').verify(token);
    expect(caller).toMatchObject({ name: 'backend', scopes: new Set(['billing:charge']) });
    await expect(kitVerifier('filesystem-server').verify(token)).rejects.toBeInstanceOf(
      TokenRejectedError,
    );
  });

  describe('keeps service tokens and user tokens apart', () => {
    const userToken = async () => {
      const invite = await request(`${auth().url}/invites`, {
        method: 'POST',
        json: { tier: 'free' },
        headers: { 'X-INTERNAL-TOKEN': internalToken },
      });
      const email = `svc-${randomBytes(4).toString('hex')}@example.com`;
      const code = (invite.body as { invite_code: string }).invite_code;
      const registered = await request(`${auth().url}/register`, {
        method: 'POST',
        json: { email, password: PASSWORD, invite_code: code },
      });
      expect(registered.status).toBe(201);
      const login = await request(`${auth().url}/login`, {
        method: 'POST',
        json: { email, password: PASSWORD },
      });
      return (login.body as { access_token: string }).access_token;
    };

    it('signs them with different keys, published in different key sets', async () => {
      const service = (await serviceKeys()).keys.map((key) => key.kid);
      const user = (await userKeys()).keys.map((key) => key.kid);
      expect(service.length).toBeGreaterThan(0);
      expect(user.length).toBeGreaterThan(0);
      expect(service.filter((kid) => user.includes(kid))).toEqual([]);
    });

    it('the user-token path refuses a service token, even one whose audience is the backend', async () => {
      const response = await tokenRequest(
        form({ grant_type: 'client_credentials', audience: 'backend' }),
        { Authorization: basicCredentials('metrics-scraper', SECRETS.scraper) },
      );
      expect(response).toMatchObject({ status: 200, body: { scope: 'metrics:read' } });
      const token = (response.body as { access_token: string }).access_token;
      expect(decodeJwt(token).aud).toBe('backend');
      await expect(verifyUserToken(token)).rejects.toMatchObject({
        code: 'ERR_JWKS_NO_MATCHING_KEY',
      });
      // And were the key sets ever merged, its typ would still give it away.
      await expect(
        jwtVerify(token, createLocalJWKSet(await serviceKeys()), { typ: 'JWT' }),
      ).rejects.toMatchObject({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'typ' });
    });

    it('the service-token path refuses a user token', async () => {
      const token = await userToken();
      await expect(verifyUserToken(token)).resolves.toBeDefined();
      expect(decodeProtectedHeader(token).typ).toBe('JWT');
      await expect(verifyServiceToken(token, 'backend')).rejects.toMatchObject({
        code: 'ERR_JWKS_NO_MATCHING_KEY',
      });
      await expect(
        jwtVerify(token, createLocalJWKSet(await userKeys()), { typ: 'at+jwt' }),
      ).rejects.toMatchObject({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'typ' });
    });
  });

  it('never writes a client secret or a token to its log', async () => {
    const requestId = `issued-${randomBytes(6).toString('hex')}`;
    const response = await tokenRequest(
      form({ grant_type: 'client_credentials', audience: 'billing-server' }),
      { Authorization: basicCredentials('backend', SECRETS.backend), 'X-Request-ID': requestId },
    );
    const token = (response.body as { access_token: string }).access_token;
    await asBackend({ audience: 'billing-server', scope: 'nope' });
    await tokenRequest(form({ grant_type: 'client_credentials', audience: 'billing-server' }), {
      Authorization: basicCredentials('backend', `${SECRETS.backend}x`),
    });
    // Its request's id is on the line (what the refusals above rely on).
    const issued = await waitForLogLine(
      auth(),
      (line) => line['event'] === 'service_token_issued' && line['request_id'] === requestId,
      10_000,
    );
    expect(issued).toBeDefined();
    const failed = await waitForLogLine(
      auth(),
      (line) => line['event'] === 'oauth_client_auth_failed',
      10_000,
    );
    expect(failed).toBeDefined();
    const log = auth().output();
    for (const value of [...Object.values(SECRETS), token, token.split('.')[2]]) {
      expect(log).not.toContain(value);
    }
  });

  describe('metadata (RFC 8414)', () => {
    it('advertises the issuer, its endpoints, the key set, the grant, the auth methods and the scopes', async () => {
      const response = await request(`${auth().url}/.well-known/oauth-authorization-server`);
      expect(response.status).toBe(200);
      const metadata = response.body as Record<string, unknown>;
      expect(metadata).toEqual({
        issuer: ISSUER,
        token_endpoint: `${ISSUER}/oauth2/token`,
        jwks_uri: `${ISSUER}/oauth2/jwks`,
        introspection_endpoint: `${ISSUER}/oauth2/introspect`,
        introspection_endpoint_auth_methods_supported: [
          'client_secret_basic',
          'client_secret_post',
        ],
        revocation_endpoint: `${ISSUER}/oauth2/revoke`,
        revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        grant_types_supported: [
          'client_credentials',
          'urn:ietf:params:oauth:grant-type:token-exchange',
        ],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        scopes_supported: expect.arrayContaining([
          'billing:accounts.write',
          'billing:balance.read',
          'billing:charge',
          'billing:refund',
          'billing:ledger.read',
          'billing:stats.read',
          'files:read',
          'files:write',
          'files:act-as-user',
          'auth:invites.write',
          'auth:stats.read',
          'metrics:read',
        ]),
        response_types_supported: [],
      });
    });

    it('serves the key set it names, public keys only', async () => {
      const keys = await serviceKeys();
      for (const key of keys.keys) expect(key).not.toHaveProperty('d');
    });
  });

  it('counts its answers by authenticated client and result (oauth_token_requests_total)', async () => {
    const scrape = async () => {
      const response = await request(`${auth().url}/metrics`, {
        headers: { Authorization: `Bearer ${METRICS_TOKEN}` },
      });
      expect(response.status).toBe(200);
      return response.body as string;
    };
    const count = (exposition: string, clientId: string, result: string) =>
      readMetric(exposition, 'oauth_token_requests_total', { client_id: clientId, result }) ?? 0;
    const before = await scrape();
    expect(await asBackend({ audience: 'billing-server' })).toMatchObject({ status: 200 });
    expect(
      await asBackend({ audience: 'billing-server', scope: 'billing:stats.read' }),
    ).toMatchObject({ status: 400 });
    const claimed = await tokenRequest(
      form({ grant_type: 'client_credentials', audience: 'billing-server' }),
      { Authorization: basicCredentials('backend', secret()) },
    );
    expect(claimed.status).toBe(401);
    const after = await scrape();
    expect(count(after, 'backend', 'issued') - count(before, 'backend', 'issued')).toBe(1);
    expect(
      count(after, 'backend', 'invalid_scope') - count(before, 'backend', 'invalid_scope'),
    ).toBe(1);
    // A client that did not authenticate is counted as such, never under the name it claimed.
    expect(
      count(after, 'unauthenticated', 'invalid_client') -
        count(before, 'unauthenticated', 'invalid_client'),
    ).toBe(1);
    expect(count(after, 'backend', 'invalid_client')).toBe(0);
    // Every client that may get tokens shows from the start.
    expect(
      readMetric(before, 'oauth_token_requests_total', { client_id: 'metrics-scraper' }),
    ).toBeDefined();
  });
});
