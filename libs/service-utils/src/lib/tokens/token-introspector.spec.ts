import { randomBytes } from 'node:crypto';
import { startOAuthEndpoint } from '../../testing/scripted-oauth-endpoint';
import { IntrospectionUnavailableError } from './introspection-unavailable.error';
import { TokenIntrospector } from './token-introspector';

describe(TokenIntrospector.name, () => {
  const clientSecret = randomBytes(32).toString('base64url');
  const exp = () => Math.floor(clock / 1000) + 300;
  const active = () =>
    JSON.stringify({ active: true, aud: 'billing-server', client_id: 'backend', exp: exp() });
  let clock = Date.parse('2026-11-30T12:00:00Z');
  let endpoint: Awaited<ReturnType<typeof startOAuthEndpoint>>;
  let next: { status: number; body: string; delayMs?: number };

  beforeEach(async () => {
    clock = Date.parse('2026-11-30T12:00:00Z');
    next = { status: 200, body: active() };
    endpoint = await startOAuthEndpoint(() => next);
  });
  afterEach(() => endpoint.close());

  const introspector = (options: { cacheMs?: number; timeoutMs?: number } = {}) =>
    new TokenIntrospector(
      {
        endpoint: endpoint.url,
        client: { clientId: 'billing-server', clientSecret },
        timeoutMs: options.timeoutMs ?? 2_000,
        cacheMs: options.cacheMs ?? 5_000,
      },
      () => clock,
    );
  const reasonOf = async (promise: Promise<unknown>) => {
    const error: unknown = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(IntrospectionUnavailableError);
    return (error as IntrospectionUnavailableError).reason;
  };

  it('asks as its own client (client_secret_basic), the token in the form', async () => {
    expect(await introspector().isActive('the.token.here')).toBe(true);
    expect(endpoint.received).toHaveLength(1);
    const [request] = endpoint.received;
    expect(request.method).toBe('POST');
    expect(request.contentType).toBe('application/x-www-form-urlencoded');
    expect(request.authorization).toBe(
      `Basic ${Buffer.from(`billing-server:${clientSecret}`).toString('base64')}`,
    );
    expect(Object.fromEntries(request.form)).toEqual({ token: 'the.token.here' });
  });

  it('remembers an active answer for cacheMs, then asks again', async () => {
    const sut = introspector({ cacheMs: 5_000 });
    expect(await sut.isActive('t')).toBe(true);
    clock += 4_999;
    expect(await sut.isActive('t')).toBe(true);
    expect(endpoint.received).toHaveLength(1);
    clock += 1;
    next = { status: 200, body: JSON.stringify({ active: false }) };
    expect(await sut.isActive('t')).toBe(false);
    expect(endpoint.received).toHaveLength(2);
  });

  it('never remembers past the token’s exp', async () => {
    next = {
      status: 200,
      body: JSON.stringify({ active: true, aud: 'billing-server', exp: clock / 1000 + 2 }),
    };
    const sut = introspector({ cacheMs: 60_000 });
    expect(await sut.isActive('t')).toBe(true);
    clock += 2_000;
    expect(await sut.isActive('t')).toBe(true);
    expect(endpoint.received).toHaveLength(2);
  });

  it('never remembers an inactive answer, and remembers nothing with cacheMs 0', async () => {
    next = { status: 200, body: JSON.stringify({ active: false }) };
    const sut = introspector();
    expect(await sut.isActive('t')).toBe(false);
    next = { status: 200, body: active() };
    expect(await sut.isActive('t')).toBe(true);
    const uncached = introspector({ cacheMs: 0 });
    await uncached.isActive('u');
    await uncached.isActive('u');
    expect(endpoint.received).toHaveLength(4);
  });

  it('makes one request for concurrent checks of one token, one per token', async () => {
    next = { status: 200, body: active(), delayMs: 50 };
    const sut = introspector();
    const answers = await Promise.all([
      sut.isActive('a'),
      sut.isActive('a'),
      sut.isActive('a'),
      sut.isActive('b'),
    ]);
    expect(answers).toEqual([true, true, true, true]);
    expect(endpoint.received.map((request) => request.form.get('token')).sort()).toEqual([
      'a',
      'b',
    ]);
  });

  it.each([
    ['a 500', { status: 500, body: '{}' }, 'server_error'],
    ['a 503', { status: 503, body: '' }, 'server_error'],
    [
      'a 401 (its own secret refused)',
      { status: 401, body: '{"error":"invalid_client"}' },
      'refused',
    ],
    ['a body that is not JSON', { status: 200, body: '<html>' }, 'invalid_response'],
    ['no active member', { status: 200, body: '{}' }, 'invalid_response'],
    ['active as a string', { status: 200, body: '{"active":"true"}' }, 'invalid_response'],
    [
      'active for another audience',
      { status: 200, body: '{"active":true,"aud":"filesystem-server","exp":9999999999}' },
      'invalid_response',
    ],
    [
      'active without exp',
      { status: 200, body: '{"active":true,"aud":"billing-server"}' },
      'invalid_response',
    ],
  ])('fails closed on %s', async (_what, answer, reason) => {
    next = answer;
    const sut = introspector();
    expect(await reasonOf(sut.isActive('t'))).toBe(reason);
    // Nothing of a failure is remembered: the next check asks again.
    next = { status: 200, body: active() };
    expect(await sut.isActive('t')).toBe(true);
    expect(endpoint.received).toHaveLength(2);
  });

  it('fails every concurrent check of a token alike, then asks afresh', async () => {
    next = { status: 500, body: '{}', delayMs: 50 };
    const sut = introspector();
    const reasons = await Promise.all([1, 2, 3].map(() => reasonOf(sut.isActive('t'))));
    expect(reasons).toEqual(['server_error', 'server_error', 'server_error']);
    expect(endpoint.received).toHaveLength(1);
    next = { status: 200, body: active() };
    expect(await sut.isActive('t')).toBe(true);
    expect(endpoint.received).toHaveLength(2);
  });

  it('counts the cache time from when it asked, not from when the answer came', async () => {
    const sut = introspector({ cacheMs: 5_000 });
    next = { status: 200, body: active(), delayMs: 50 };
    const asked = sut.isActive('t');
    // The answer takes 3 s to arrive (the clock moves while it is on its way).
    clock += 3_000;
    expect(await asked).toBe(true);
    clock += 1_999;
    expect(await sut.isActive('t')).toBe(true);
    clock += 1;
    await sut.isActive('t');
    expect(endpoint.received).toHaveLength(2);
  });

  it('fails closed when no answer comes in time, and when nobody listens', async () => {
    next = { status: 200, body: active(), delayMs: 500 };
    expect(await reasonOf(introspector({ timeoutMs: 100 }).isActive('t'))).toBe('unreachable');
    await endpoint.close();
    expect(await reasonOf(introspector().isActive('t'))).toBe('unreachable');
    // afterEach closes it again: a second close must not throw.
    endpoint = await startOAuthEndpoint(() => next);
  });
});
