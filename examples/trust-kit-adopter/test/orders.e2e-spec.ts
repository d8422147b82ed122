import {
  builtServiceMain,
  generateToken,
  headerLines,
  rawRequest,
  request,
  runServiceToExit,
  type ScriptedServer,
  sendJson,
  type ServiceProcess,
  startScriptedServer,
  startServiceProcess,
  waitForLogLine,
} from '@zt/test-kit';
import { randomUUID } from 'node:crypto';

/** The status and body of an answer, to compare in one expectation. */
const answerOf = ({ status, body }: { status: number; body: unknown }) => ({ status, body });
const FORBIDDEN = { status: 403, body: { error: 'Forbidden' } };

/**
 * The sample adopter (examples/trust-kit-adopter), built and started as its own process the
 * way a team runs its service, called over real HTTP, with a real inventory server behind it.
 */
describe('an existing NestJS app with the trust kit (examples/trust-kit-adopter)', () => {
  const main = builtServiceMain('trust-kit-adopter', { folder: 'examples' });
  // Accepted and sent; accepted only (a rotation's next token): never sent.
  const token = generateToken();
  const acceptOnly = generateToken();
  let inventory: ScriptedServer;
  let orders: ServiceProcess;

  beforeAll(async () => {
    inventory = await startScriptedServer((_seen, response) =>
      sendJson(response, 201, { reservation_id: 'r-1' }),
    );
    orders = await startServiceProcess({
      main,
      env: {
        INTERNAL_SERVICE_TOKEN: token,
        INTERNAL_SERVICE_TOKEN_ACCEPT: acceptOnly,
        ORDERS_PORT: '0',
        INVENTORY_URL: inventory.url,
      },
      // An existing app's own health route; it has no /health/ready.
      readyPath: '/health',
    });
  });

  afterAll(async () => {
    await orders?.stop();
    await inventory?.close();
  });

  it.each([
    ['missing', []],
    ['empty', ['X-INTERNAL-TOKEN', '']],
    ['wrong', ['X-INTERNAL-TOKEN', generateToken()]],
    ['of another length', ['X-INTERNAL-TOKEN', 'short']],
    ['repeated, even when right', ['X-INTERNAL-TOKEN', token, 'x-internal-token', token]],
    ['comma-joined', ['X-INTERNAL-TOKEN', `${token},${token}`]],
  ])(
    'refuses an internal route when the token is %s: 403 {"error":"Forbidden"}',
    async (_, lines) => {
      const answer = await rawRequest(`${orders.url}/orders`, {
        rawHeaders: [...lines, 'X-User-ID', 'user-1'],
      });
      expect(answerOf(answer)).toEqual(FORBIDDEN);
    },
  );

  it('refuses an order without the token before anything reaches the inventory', async () => {
    const before = inventory.seen.length;
    const answer = await request(`${orders.url}/orders`, {
      method: 'POST',
      headers: { 'X-User-ID': 'user-1' },
      json: { sku: 'A-1', quantity: 1 },
    });
    expect(answerOf(answer)).toEqual(FORBIDDEN);
    expect(inventory.seen.length).toBe(before);
  });

  it('logs each refusal as one JSON line with its reason, never with the token', async () => {
    const wrong = generateToken();
    await rawRequest(`${orders.url}/orders?probe=1`, { rawHeaders: ['X-INTERNAL-TOKEN', wrong] });
    const refusal = await waitForLogLine(
      orders,
      (line) => (line['message'] as { reason?: string })?.reason === 'mismatch',
    );
    expect(refusal).toEqual({
      level: 'warn',
      pid: expect.any(Number),
      timestamp: expect.any(Number),
      context: 'InternalTokenGuard',
      message: {
        event: 'internal_auth_denied',
        reason: 'mismatch',
        remote_address: '127.0.0.1',
        method: 'GET',
        path: '/orders',
      },
    });
    expect(orders.output()).not.toContain(wrong);
    expect(orders.output()).not.toContain(token);
  });

  it.each([
    ['its own token', () => token],
    ['an accept-only token', () => acceptOnly],
  ])('serves an internal route with %s', async (_, presented) => {
    const user = randomUUID();
    const answer = await request(`${orders.url}/orders`, {
      headers: { 'X-INTERNAL-TOKEN': presented(), 'X-User-ID': user },
    });
    expect(answerOf(answer)).toEqual({ status: 200, body: { user_id: user, orders: [] } });
  });

  it('keeps GET /health open, with no credential at all', async () => {
    expect(answerOf(await request(`${orders.url}/health`))).toEqual({
      status: 200,
      body: { status: 'ok' },
    });
  });

  it.each([
    ['missing', [], 'X-User-ID header is required'],
    ['not a user id', ['X-User-ID', '../admin'], 'X-User-ID is not a valid user id'],
    [
      'repeated',
      ['X-User-ID', 'user-1', 'X-User-ID', 'user-2'],
      'X-User-ID header must appear once',
    ],
  ])('reads X-User-ID after the guard: 400 when it is %s', async (_, lines, error) => {
    const authenticated = await rawRequest(`${orders.url}/orders`, {
      rawHeaders: ['X-INTERNAL-TOKEN', token, ...lines],
    });
    expect(answerOf(authenticated)).toEqual({ status: 400, body: { error } });
    // Without the credential the same request learns nothing about X-User-ID: a 403 like any other.
    const anonymous = await rawRequest(`${orders.url}/orders`, { rawHeaders: lines });
    expect(answerOf(anonymous)).toEqual(FORBIDDEN);
  });

  it('calls the inventory with exactly its own token, whichever token it was called with', async () => {
    const user = randomUUID();
    const answer = await request(`${orders.url}/orders`, {
      method: 'POST',
      headers: { 'X-INTERNAL-TOKEN': acceptOnly, 'X-User-ID': user },
      json: { sku: 'A-1', quantity: 2 },
    });
    expect(answerOf(answer)).toEqual({
      status: 201,
      body: {
        id: expect.any(String),
        user_id: user,
        sku: 'A-1',
        quantity: 2,
        reservation_id: 'r-1',
      },
    });
    const call = inventory.seen.at(-1);
    expect(call).toMatchObject({ method: 'POST', url: '/reservations' });
    expect(JSON.parse(call?.body.toString('utf8') ?? '')).toEqual({ sku: 'A-1', quantity: 2 });
    // One credential line, the send token; nothing the caller sent is passed on.
    expect(headerLines(call, 'X-INTERNAL-TOKEN')).toEqual([token]);
    expect(headerLines(call, 'X-User-ID')).toEqual([]);
  });

  it.each([
    ['unset', undefined, 'INTERNAL_SERVICE_TOKEN is not set (see .env.example)'],
    ['short', 'changeme', 'INTERNAL_SERVICE_TOKEN is shorter than 32 characters'],
    [
      'of few distinct characters',
      'abababababababababababababababababab',
      'INTERNAL_SERVICE_TOKEN has fewer than 12 distinct characters',
    ],
    [
      'a placeholder',
      'YOUR_GENERATED_TOKEN_HERE_BASE64_32_BYTES',
      'INTERNAL_SERVICE_TOKEN is a placeholder: generate one with `openssl rand -base64 32`',
    ],
  ])(
    'refuses to start when the token is %s, in one line naming the variable',
    async (_, value, message) => {
      const run = await runServiceToExit({
        main,
        env: { INTERNAL_SERVICE_TOKEN: value, ORDERS_PORT: '0' },
      });
      expect(run).toEqual({ code: 1, stdout: '', stderr: `configuration error: ${message}\n` });
    },
  );

  it('refuses to start when an accept-only token is weak, naming that variable', async () => {
    const run = await runServiceToExit({
      main,
      env: {
        INTERNAL_SERVICE_TOKEN: token,
        INTERNAL_SERVICE_TOKEN_ACCEPT: 'changeme',
        ORDERS_PORT: '0',
      },
    });
    expect(run).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'configuration error: INTERNAL_SERVICE_TOKEN_ACCEPT entry 1 is shorter than 32 characters\n',
    });
  });
});
