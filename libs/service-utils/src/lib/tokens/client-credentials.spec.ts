import { randomBytes } from 'node:crypto';
import { startOAuthEndpoint } from '../../testing/scripted-oauth-endpoint';
import { clientCredentialsGrant } from './client-credentials';
import { ServiceTokenUnavailableError } from './service-token-unavailable.error';

describe(clientCredentialsGrant.name, () => {
  const clientSecret = randomBytes(32).toString('base64url');
  let endpoint: Awaited<ReturnType<typeof startOAuthEndpoint>>;
  let next: { status: number; body: string; delayMs?: number };

  beforeEach(async () => {
    next = { status: 200, body: '' };
    endpoint = await startOAuthEndpoint(() => next);
  });
  afterEach(() => endpoint.close());

  const grant = (timeoutMs = 2_000) =>
    clientCredentialsGrant(
      { tokenEndpoint: endpoint.url, clientId: 'backend', clientSecret },
      { timeoutMs },
    );

  it('asks with client_secret_basic for the audience, and reads the token and its lifetime', async () => {
    next = {
      status: 200,
      body: JSON.stringify({ access_token: 'a.b.c', token_type: 'Bearer', expires_in: 300 }),
    };
    await expect(grant()('billing-server')).resolves.toEqual({
      accessToken: 'a.b.c',
      expiresInSeconds: 300,
    });
    const [request] = endpoint.received;
    expect(request.method).toBe('POST');
    expect(request.contentType).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(request.form)).toEqual({
      grant_type: 'client_credentials',
      audience: 'billing-server',
    });
    const basic = Buffer.from((request.authorization ?? '').replace(/^Basic /, ''), 'base64');
    expect(basic.toString()).toBe(`backend:${clientSecret}`);
  });

  it("reports the issuer's RFC 6749 error code, and never the secret", async () => {
    next = { status: 401, body: JSON.stringify({ error: 'invalid_client' }) };
    const error = await grant()('billing-server').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceTokenUnavailableError);
    expect(error).toMatchObject({ reason: 'refused', oauthError: 'invalid_client' });
    expect((error as Error).message).not.toContain(clientSecret);

    next = { status: 400, body: JSON.stringify({ error: 'invalid_target' }) };
    await expect(grant()('ledger')).rejects.toMatchObject({ oauthError: 'invalid_target' });
  });

  it.each([
    ['a 5xx', { status: 503, body: '{}' }, 'unreachable'],
    [
      "the issuer's rate limit",
      { status: 429, body: '{"error":"temporarily_unavailable"}' },
      'unreachable',
    ],
    ['no answer in time', { status: 200, body: '{}', delayMs: 500 }, 'unreachable'],
    ['not JSON', { status: 200, body: 'ok' }, 'invalid_response'],
    [
      'another token type',
      { status: 200, body: '{"access_token":"t","token_type":"mac","expires_in":300}' },
      'invalid_response',
    ],
    [
      'no lifetime',
      { status: 200, body: '{"access_token":"t","token_type":"Bearer"}' },
      'invalid_response',
    ],
    ['an error without a code', { status: 400, body: '{"message":"no"}' }, 'invalid_response'],
  ])('fails on %s', async (_name, answer, reason) => {
    next = answer;
    // A short deadline only where the deadline is what is tested: on a busy machine an
    // answer may take longer than 200 ms to arrive, and would then be "unreachable".
    const timeoutMs = 'delayMs' in answer ? 200 : 10_000;
    await expect(grant(timeoutMs)('billing-server')).rejects.toMatchObject({ reason });
  });

  it('keeps no token longer than a callee would accept one', async () => {
    next = {
      status: 200,
      body: JSON.stringify({ access_token: 't', token_type: 'bearer', expires_in: 86_400 }),
    };
    await expect(grant()('billing-server')).resolves.toMatchObject({ expiresInSeconds: 600 });
  });

  it('fails as unreachable when nothing listens', async () => {
    await endpoint.close();
    await expect(grant()('billing-server')).rejects.toMatchObject({ reason: 'unreachable' });
    endpoint = await startOAuthEndpoint(() => next); // for afterEach
  });
});
