import { request, ServiceIdentityStack, type ServiceClientId } from '@zt/test-kit';
import { createRemoteJWKSet, decodeJwt, errors, jwtVerify } from 'jose';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';

// Issue 13 item 7, "a client nobody here wrote": oauth4webapi discovers the real auth server
// from its RFC 8414 metadata and gets service tokens by the client-credentials grant; the real
// billing server, in INTERNAL_AUTH_MODE=jwt, lets them through; jose verifies them against
// GET /oauth2/jwks as any resource server would. DESIGN section 9.

const runFile = promisify(execFile);
const CLIENT_SCRIPT = join(__dirname, 'oauth4webapi-client.mjs');

/** What oauth4webapi-client.mjs reports. */
type ClientOutcome =
  | {
      kind: 'token';
      metadata: Record<string, unknown>;
      token: { access_token: string; token_type: string; expires_in?: number; scope?: string };
    }
  | {
      kind: 'error_body';
      status: number;
      error: string;
      error_description?: string;
    }
  | { kind: 'challenge'; status: number; challenges: unknown; body: unknown }
  | { kind: 'failed'; name?: string; code?: string; message?: string };

describe('oauth4webapi and jose against the real auth server and billing (jwt mode)', () => {
  let sut: ServiceIdentityStack;
  const billing = () => sut.url('billing-server');

  beforeAll(async () => {
    sut = await ServiceIdentityStack.launch();
  }, 240_000);

  afterAll(() => sut?.stop());

  /** Runs oauth4webapi in its own Node process (it is ESM only) and returns what it made of the answer. */
  async function oauth4webapi(request: {
    clientId: ServiceClientId;
    clientSecret?: string;
    method: 'client_secret_basic' | 'client_secret_post';
    parameters: Record<string, string>;
  }): Promise<ClientOutcome> {
    const { stdout } = await runFile(process.execPath, [CLIENT_SCRIPT], {
      // The secret goes in the child's environment, never on its command line or in its output.
      env: {
        PATH: process.env['PATH'],
        OAUTH4WEBAPI_REQUEST: JSON.stringify({
          issuer: sut.issuer,
          clientSecret: sut.secretOf(request.clientId),
          ...request,
        }),
      },
      timeout: 30_000,
    }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
    return JSON.parse(stdout) as ClientOutcome;
  }

  const tokenOf = (outcome: ClientOutcome): string => {
    if (outcome.kind !== 'token') throw new Error(`no token: ${JSON.stringify(outcome)}`);
    return outcome.token.access_token;
  };

  const balanceOf = (userId: string, token: string) =>
    request(`${billing()}/balance/${userId}`, { headers: { Authorization: `Bearer ${token}` } });

  it('discovers the metadata, gets a token by client_secret_basic with audience, and billing lets it read a balance', async () => {
    const outcome = await oauth4webapi({
      clientId: 'backend',
      method: 'client_secret_basic',
      parameters: { audience: 'billing-server', scope: 'billing:balance.read' },
    });
    expect(outcome).toEqual({
      kind: 'token',
      metadata: {
        issuer: sut.issuer,
        token_endpoint: `${sut.issuer}/oauth2/token`,
        jwks_uri: `${sut.issuer}/oauth2/jwks`,
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      },
      token: {
        access_token: expect.any(String),
        // oauth4webapi lower-cases token_type.
        token_type: 'bearer',
        expires_in: 300,
        scope: 'billing:balance.read',
      },
    });
    const token = tokenOf(outcome);

    // Billing is in jwt mode: without the bearer, nothing.
    const anonymous = await request(`${billing()}/balance/${randomUUID()}`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');

    const unknown = randomUUID();
    expect(await balanceOf(unknown, token)).toMatchObject({
      status: 404,
      body: { error: 'account not found' },
    });
    const userId = await sut.openBillingAccount();
    expect(await balanceOf(userId, token)).toMatchObject({
      status: 200,
      body: { user_id: userId, tier: 'pro', balance: 5 },
    });
  });

  it('gets a token by client_secret_post naming billing by its base URL (resource), which billing accepts', async () => {
    const outcome = await oauth4webapi({
      clientId: 'backend',
      method: 'client_secret_post',
      parameters: { resource: billing() },
    });
    const token = tokenOf(outcome);
    // Without scope: every scope the backend may have at billing.
    expect(outcome).toMatchObject({
      token: { scope: 'billing:balance.read billing:charge billing:refund' },
    });
    expect(decodeJwt(token)).toMatchObject({ aud: 'billing-server', sub: 'backend' });

    const userId = await sut.openBillingAccount();
    expect(await balanceOf(userId, token)).toMatchObject({
      status: 200,
      body: { user_id: userId, tier: 'pro', balance: 5 },
    });
  });

  it.each(['client_secret_basic', 'client_secret_post'] as const)(
    'reads a wrong secret by %s as the 401 invalid_client challenge it is',
    async (method) => {
      const outcome = await oauth4webapi({
        clientId: 'backend',
        clientSecret: randomUUID().replace(/-/g, '').repeat(2),
        method,
        parameters: { audience: 'billing-server' },
      });
      // RFC 6749 section 5.2: 401 with WWW-Authenticate; oauth4webapi raises the challenge
      // (WWWAuthenticateChallengeError) and leaves the body, our RFC 6749 error, unread.
      expect(outcome).toEqual({
        kind: 'challenge',
        metadata: expect.any(Object),
        status: 401,
        challenges: [{ scheme: 'basic', parameters: { realm: 'auth-server' } }],
        body: { error: 'invalid_client', error_description: expect.any(String) },
      });
    },
  );

  it('reads a 400 RFC 6749 error answer as its error code (invalid_target)', async () => {
    const outcome = await oauth4webapi({
      clientId: 'backend',
      method: 'client_secret_basic',
      parameters: { audience: 'backend' },
    });
    expect(outcome).toEqual({
      kind: 'error_body',
      metadata: expect.any(Object),
      status: 400,
      error: 'invalid_target',
      error_description: expect.any(String),
    });
  });

  it("verifies the auth server's token with jose's remote key set: at+jwt, issuer, audience", async () => {
    const token = tokenOf(
      await oauth4webapi({
        clientId: 'backend',
        method: 'client_secret_basic',
        parameters: { audience: 'billing-server', scope: 'billing:charge' },
      }),
    );
    const keys = createRemoteJWKSet(new URL(`${sut.issuer}/oauth2/jwks`));
    const options = {
      issuer: sut.issuer,
      algorithms: ['EdDSA'],
      typ: 'at+jwt',
      requiredClaims: ['exp', 'iat', 'sub', 'jti', 'scope', 'client_id'],
    };

    const { payload, protectedHeader } = await jwtVerify(token, keys, {
      ...options,
      audience: 'billing-server',
    });
    expect(protectedHeader).toEqual({ alg: 'EdDSA', typ: 'at+jwt', kid: expect.any(String) });
    expect(payload).toMatchObject({
      iss: sut.issuer,
      sub: 'backend',
      client_id: 'backend',
      aud: 'billing-server',
      scope: 'billing:charge',
    });
    expect((payload.exp as number) - (payload.iat as number)).toBe(300);

    // The same check, as another service would make it, refuses the token.
    await expect(
      jwtVerify(token, keys, { ...options, audience: 'filesystem-server' }),
    ).rejects.toBeInstanceOf(errors.JWTClaimValidationFailed);
  });
});
