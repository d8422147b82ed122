import {
  builtServiceMain,
  generateToken,
  rawRequest,
  request,
  runServiceToExit,
  scratchDatabaseFor,
  sendRawThenDrop,
  type ServiceProcess,
  startServiceProcess,
  testBackends,
  type TestResponse,
} from '@zt/test-kit';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

const main = builtServiceMain('billing-server');

describe.each(testBackends())('billing-server process on %s', (backend) => {
  const token = generateToken();
  let service: ServiceProcess;
  let dataDir: string;
  let databaseUrl: string | undefined;
  let dropDatabase: () => Promise<void>;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'billing-e2e-'));
    const scratch = await scratchDatabaseFor(backend);
    databaseUrl = scratch.url;
    dropDatabase = scratch.drop;
    service = await startServiceProcess({
      main,
      env: {
        INTERNAL_SERVICE_TOKEN: token,
        BILLING_SERVER_PORT: '0',
        DATA_DIR: dataDir,
        DATABASE_URL: databaseUrl,
      },
    });
  });

  afterAll(async () => {
    expect((await service.stop()).graceful).toBe(true);
    await dropDatabase();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const authed = { 'X-INTERNAL-TOKEN': token };
  const call = (
    method: string,
    path: string,
    json?: unknown,
    headers: Record<string, string> = {},
  ) => request(`${service.url}${path}`, { method, json, headers: { ...authed, ...headers } });
  const ledgerOf = async (userId: string) =>
    (await call('GET', `/ledger/${userId}?limit=100`)).body as {
      entries: Array<{ kind: string; amount: number }>;
    };
  const openAccount = async (userId: string, tier = 'pro') =>
    expect((await call('POST', '/account', { user_id: userId, tier })).status).toBe(201);

  describe('the fix document matrix', () => {
    it('refuses POST /account without a token', async () => {
      const response = await request(`${service.url}/account`, {
        method: 'POST',
        json: { user_id: 'valid-user', tier: 'pro' },
      });
      expect(response.status).toBe(403);
      expect(response.body).toEqual({ error: 'Forbidden' });
    });

    it('creates the account with the token', async () => {
      const response = await call('POST', '/account', { user_id: 'valid-user', tier: 'pro' });
      expect(response.status).toBe(201);
      expect(response.body).toEqual({ status: 'created', user_id: 'valid-user', balance: 5 });
    });
  });

  describe('every endpoint refuses every bad credential and changes nothing', () => {
    const victim = 'victim-user';
    const endpoints: Array<[string, string, unknown]> = [
      ['POST', '/account', { user_id: 'intruder', tier: 'team' }],
      ['GET', `/balance/${victim}`, undefined],
      ['POST', '/deduct', { user_id: victim, amount: 1 }],
      ['POST', '/top_up', { user_id: victim, amount: 1000 }],
      ['GET', `/ledger/${victim}`, undefined],
      ['GET', '/stats/subscription_count', undefined],
    ];
    const badCredentials: Array<[string, () => string[]]> = [
      ['missing', () => []],
      ['empty', () => ['X-INTERNAL-TOKEN', '']],
      ['wrong', () => ['X-INTERNAL-TOKEN', generateToken()]],
      ['shorter', () => ['X-INTERNAL-TOKEN', token.slice(0, -1)]],
      ['longer', () => ['X-INTERNAL-TOKEN', `${token}x`]],
      ['repeated', () => ['X-INTERNAL-TOKEN', token, 'X-INTERNAL-TOKEN', token]],
      ['repeated, differently cased', () => ['X-INTERNAL-TOKEN', token, 'x-internal-token', token]],
      ['comma-joined', () => ['X-INTERNAL-TOKEN', `${token},${token}`]],
      ['in Authorization', () => ['Authorization', `Bearer ${token}`]],
      ['with X-User-ID alone', () => ['X-User-ID', victim]],
    ];

    beforeAll(() => openAccount(victim));

    it.each(endpoints)('%s %s', async (method, path, json) => {
      const before = {
        balance: (await call('GET', `/balance/${victim}`)).body,
        ledger: await ledgerOf(victim),
      };
      const stats = (await call('GET', '/stats/subscription_count')).body;
      for (const [label, headers] of badCredentials) {
        const body = json === undefined ? undefined : JSON.stringify(json);
        const response = await rawRequest(`${service.url}${path}`, {
          method,
          rawHeaders: [...headers(), ...(body ? ['Content-Type', 'application/json'] : [])],
          body,
        });
        expect({ label, status: response.status, body: response.body }).toEqual({
          label,
          status: 403,
          body: { error: 'Forbidden' },
        });
      }
      const inQuery = await request(
        `${service.url}${path}${path.includes('?') ? '&' : '?'}token=${token}`,
        {
          method,
          json,
        },
      );
      expect(inQuery.status).toBe(403);
      expect((await call('GET', `/balance/${victim}`)).body).toEqual(before.balance);
      expect(await ledgerOf(victim)).toEqual(before.ledger);
      expect((await call('GET', '/stats/subscription_count')).body).toEqual(stats);
      expect((await call('GET', '/balance/intruder')).status).toBe(404);
    });

    it('logs each refusal as one structured line without the token', async () => {
      const expected = endpoints.length * badCredentials.length;
      const denialLines = () =>
        service
          .output()
          .split('\n')
          .filter((line) => line.includes('internal_auth_denied'));
      // The last line may still be on its way through the pipe when the answer arrives.
      for (let i = 0; i < 100 && denialLines().length < expected; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const denials = denialLines();
      expect(denials.length).toBeGreaterThanOrEqual(expected);
      // One JSON line: the event's fields at the top level, beside the logger's own.
      const parsed = JSON.parse(denials[0]) as Record<string, unknown>;
      expect(Object.keys(parsed).sort()).toEqual([
        'context',
        'event',
        'level',
        'method',
        'path',
        'pid',
        'reason',
        'remote_address',
        'request_id',
        'service',
        'time',
      ]);
      expect(parsed).toMatchObject({ level: 'warn', event: 'internal_auth_denied' });
      expect(service.output()).not.toContain(token);
      expect(service.output()).not.toContain(token.slice(0, 12));
    });
  });

  describe('validation', () => {
    const user = 'validation-user';
    beforeAll(() => openAccount(user));

    it.each([
      ['POST', '/account', { user_id: 'x', tier: 'admin' }, 'tier'],
      ['POST', '/account', { user_id: 'x', tier: 'pro', balance: 1000 }, ''],
      ['POST', '/account', { user_id: '../etc', tier: 'pro' }, 'user_id'],
      ['POST', '/account', { user_id: 'x'.repeat(129), tier: 'pro' }, 'user_id'],
      ['POST', '/account', { tier: 'pro' }, 'user_id'],
      ['POST', '/deduct', { user_id: user, amount: 1, tier: 'admin' }, ''],
      ['POST', '/deduct', { user_id: user }, 'amount'],
      ['POST', '/deduct', { user_id: user, amount: -1 }, 'amount'],
      ['POST', '/deduct', { user_id: user, amount: 0 }, 'amount'],
      ['POST', '/deduct', { user_id: user, amount: '0.0000001' }, 'amount'],
      ['POST', '/deduct', { user_id: user, amount: '1e3' }, 'amount'],
      ['POST', '/deduct', { user_id: user, amount: ' 1' }, 'amount'],
      ['POST', '/deduct', { user_id: user, amount: true }, 'amount'],
      ['POST', '/deduct', { user_id: user, amount: [1] }, 'amount'],
      ['POST', '/deduct', { user_id: user, amount: { value: 1 } }, 'amount'],
      ['POST', '/deduct', { user_id: user, amount: null }, 'amount'],
      ['POST', '/top_up', { user_id: user, amount: 1000001 }, 'amount'],
      ['POST', '/top_up', { user_id: user, amount: 1, reason: 'r'.repeat(257) }, 'reason'],
      ['POST', '/top_up', { user_id: user, amount: 1, reason: 'line\nbreak' }, 'reason'],
      ['POST', '/top_up', { user_id: user, amount: 1, reason: 5 }, 'reason'],
    ])('%s %s %j is a 400 naming %p', async (method, path, json, field) => {
      const response = await call(method, path, json);
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({
        error: 'invalid request',
        details: expect.arrayContaining([expect.objectContaining({ field })]),
      });
    });

    it.each([
      ['a repeated key', '{"user_id":"validation-user","amount":1,"amount":1000}', 'repeated key'],
      [
        'a __proto__ key',
        '{"user_id":"validation-user","amount":1,"__proto__":{"tier":"admin"}}',
        '__proto__',
      ],
      ['a top-level array', '[{"user_id":"validation-user","amount":1}]', 'must be a JSON object'],
      ['malformed JSON', '{"user_id":"validation-user","amount":1', 'malformed JSON'],
      [
        'a number literal beyond double range',
        '{"user_id":"validation-user","amount":1e309}',
        'malformed JSON',
      ],
      // Numbers are judged as written: each of these used to pass as 5, 0.15 and 1.
      ['an amount with an exponent', '{"user_id":"validation-user","amount":5E0}', 'exact'],
      ['an amount 1.5e-1', '{"user_id":"validation-user","amount":1.5e-1}', 'exact'],
      [
        'an amount with 17 decimals',
        '{"user_id":"validation-user","amount":1.00000000000000001}',
        'exact',
      ],
      ['NaN', '{"user_id":"validation-user","amount":NaN}', 'malformed JSON'],
      ['an empty body', '', 'must be a JSON object'],
    ])('refuses %s with 400 and changes nothing', async (_label, body, message) => {
      const before = await ledgerOf(user);
      const response = await request(`${service.url}/top_up`, {
        method: 'POST',
        headers: { ...authed, 'content-type': 'application/json' },
        body,
      });
      expect(response.status).toBe(400);
      expect(JSON.stringify(response.body)).toContain(message);
      expect(await ledgerOf(user)).toEqual(before);
    });

    it('takes a body the caller abandons halfway as an expected event: no error line, nothing changed', async () => {
      const before = await ledgerOf(user);
      const linesBefore = service.output().length;
      await sendRawThenDrop(service.url, {
        method: 'POST',
        path: '/top_up',
        headers: [...Object.entries(authed).flat(), 'Content-Type', 'application/json'],
        declaredBytes: 200,
        sentBytes: 20,
      });
      // Its request line is written once the server has given up on the body.
      const logged = () => service.output().slice(linesBefore);
      for (let i = 0; i < 100 && !logged().includes('"url":"/top_up"'); i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(logged()).toContain('"url":"/top_up"');
      expect((await call('GET', `/balance/${user}`)).status).toBe(200);
      expect(await ledgerOf(user)).toEqual(before);
      expect(logged()).not.toContain('unhandled_error');
      expect(logged()).not.toContain('"level":"error"');
    });

    it('answers an unknown path with a fixed 404 that does not echo it', async () => {
      const response = await call('GET', '/no/such/route/<script>alert(1)</script>');
      expect(response).toEqual(
        expect.objectContaining({ status: 404, body: { error: 'not found' } }),
      );
    });

    it('refuses a body that is not JSON with 415 and an oversized one with 413', async () => {
      const text = await request(`${service.url}/top_up`, {
        method: 'POST',
        headers: { ...authed, 'content-type': 'text/plain' },
        body: 'user_id=validation-user&amount=1',
      });
      expect(text.status).toBe(415);
      const huge = await call('POST', '/top_up', {
        user_id: user,
        amount: 1,
        reason: 'x'.repeat(70 * 1024),
      });
      expect(huge.status).toBe(413);
      expect(huge.body).toEqual({ error: 'request body is larger than 65536 bytes' });
    });

    it('answers 400 for a bad user id in a path, 404 for an unknown account', async () => {
      expect(await call('GET', '/balance/..%2Fsecret')).toMatchObject({
        status: 400,
        body: { error: 'invalid user_id' },
      });
      expect(await call('GET', '/balance/nobody')).toMatchObject({
        status: 404,
        body: { error: 'account not found' },
      });
      expect(await call('GET', '/ledger/nobody')).toMatchObject({
        status: 404,
        body: { error: 'account not found' },
      });
      expect(await call('POST', '/deduct', { user_id: 'nobody', amount: 1 })).toMatchObject({
        status: 404,
        body: { error: 'account not found' },
      });
      expect(await call('POST', '/top_up', { user_id: 'nobody', amount: 1 })).toMatchObject({
        status: 404,
        body: { error: 'account not found' },
      });
      expect(await call('GET', `/ledger/${user}?limit=0`)).toMatchObject({ status: 400 });
      expect(await call('GET', `/ledger/${user}?limit=5&limit=6`)).toMatchObject({ status: 400 });
      expect(await call('GET', `/ledger/${user}?colour=blue`)).toMatchObject({ status: 400 });
    });

    it('refuses a second account for the same user with 409', async () => {
      expect(await call('POST', '/account', { user_id: user, tier: 'team' })).toEqual(
        expect.objectContaining({ status: 409, body: { error: 'account exists' } }),
      );
      expect((await call('GET', `/balance/${user}`)).body).toEqual({
        user_id: user,
        tier: 'pro',
        balance: 5,
      });
    });
  });

  describe('money', () => {
    it('lets exactly 25 of 50 concurrent deducts of 1 from 25 succeed and leaves 0', async () => {
      await openAccount('team-user', 'team');
      const responses = await Promise.all(
        Array.from({ length: 50 }, () =>
          call('POST', '/deduct', { user_id: 'team-user', amount: 1 }),
        ),
      );
      expect(responses.filter((response) => response.status === 200)).toHaveLength(25);
      const refused = responses.filter((response) => response.status === 402);
      expect(refused).toHaveLength(25);
      expect(refused[0].body).toEqual({ error: 'insufficient funds', balance: expect.any(Number) });
      expect((await call('GET', '/balance/team-user')).body).toEqual({
        user_id: 'team-user',
        tier: 'team',
        balance: 0,
      });
      const ledger = await ledgerOf('team-user');
      expect(ledger.entries).toHaveLength(26);
      expect(ledger.entries.reduce((sum, entry) => sum + entry.amount, 0)).toBe(0);
    });

    it('keeps fractional credits exact', async () => {
      await openAccount('cents-user', 'free');
      await call('POST', '/top_up', { user_id: 'cents-user', amount: '0.1' });
      await call('POST', '/top_up', { user_id: 'cents-user', amount: 0.2 });
      const response = await call('POST', '/deduct', { user_id: 'cents-user', amount: '0.000001' });
      expect(response.body).toMatchObject({ user_id: 'cents-user', balance: 1.299999 });
    });

    it('pages the ledger newest first with next_before', async () => {
      await openAccount('ledger-user', 'free');
      for (const amount of ['1', '2', '3'])
        await call('POST', '/top_up', {
          user_id: 'ledger-user',
          amount,
          reason: `top up ${amount}`,
        });
      const first = (await call('GET', '/ledger/ledger-user?limit=2')).body as {
        entries: Array<Record<string, unknown>>;
        next_before: string;
      };
      expect(
        first.entries.map((entry) => [entry.kind, entry.amount, entry.balance_after, entry.reason]),
      ).toEqual([
        ['top_up', 3, 7, 'top up 3'],
        ['top_up', 2, 4, 'top up 2'],
      ]);
      expect(first.entries[0]).toEqual({
        transaction_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        kind: 'top_up',
        amount: 3,
        balance_after: 7,
        reason: 'top up 3',
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
      const second = (await call('GET', `/ledger/ledger-user?limit=2&before=${first.next_before}`))
        .body as {
        entries: Array<Record<string, unknown>>;
        next_before: string | null;
      };
      expect(second.entries.map((entry) => entry.kind)).toEqual(['top_up', 'opening']);
      expect(second.next_before).toBeNull();
    });

    it('counts subscriptions per tier', async () => {
      const body = (await call('GET', '/stats/subscription_count')).body as {
        subscription_count: number;
        by_tier: Record<string, number>;
      };
      expect(body.subscription_count).toBe(
        body.by_tier.free + body.by_tier.pro + body.by_tier.team,
      );
      expect(body.by_tier.team).toBeGreaterThanOrEqual(1);
      expect(Object.keys(body.by_tier).sort()).toEqual(['free', 'pro', 'team']);
    });
  });

  describe('Idempotency-Key', () => {
    const user = 'idem-user';
    beforeAll(() => openAccount(user));
    const deduct = (key: string, amount: unknown = 1, path = '/deduct') =>
      call('POST', path, { user_id: user, amount }, { 'Idempotency-Key': key });

    it('replays the first answer to a retry and charges once', async () => {
      const first = await deduct('retry-1');
      const second = await deduct('retry-1');
      expect(first.status).toBe(200);
      expect(second.status).toBe(200);
      expect(second.body).toEqual(first.body);
      // The same bytes: keys in the same order (a jsonb column used to reorder them).
      expect(JSON.stringify(second.body)).toBe(JSON.stringify(first.body));
      expect(second.headers.get('idempotent-replayed')).toBe('true');
      expect((await call('GET', `/balance/${user}`)).body).toMatchObject({ balance: 4 });
      expect(
        (await ledgerOf(user)).entries.filter((entry) => entry.kind === 'deduct'),
      ).toHaveLength(1);
    });

    it('answers 422 when the key comes back with another body or endpoint', async () => {
      expect(await deduct('retry-1', 2)).toMatchObject({ status: 422 });
      expect(await deduct('retry-1', 1, '/top_up')).toMatchObject({ status: 422 });
      expect((await call('GET', `/balance/${user}`)).body).toMatchObject({ balance: 4 });
    });

    it('replays a 402 even after the funds arrive', async () => {
      const refused = await deduct('too-much', 100);
      expect(refused).toMatchObject({
        status: 402,
        body: { error: 'insufficient funds', balance: 4 },
      });
      await call('POST', '/top_up', { user_id: user, amount: 200 });
      expect(await deduct('too-much', 100)).toMatchObject({
        status: 402,
        body: { error: 'insufficient funds', balance: 4 },
      });
      expect((await call('GET', `/balance/${user}`)).body).toMatchObject({ balance: 204 });
    });

    it('replays a 404', async () => {
      const response = await call(
        'POST',
        '/deduct',
        { user_id: 'ghost', amount: 1 },
        { 'Idempotency-Key': 'ghost-1' },
      );
      expect(response.status).toBe(404);
      await openAccount('ghost');
      const replay = await call(
        'POST',
        '/deduct',
        { user_id: 'ghost', amount: 1 },
        { 'Idempotency-Key': 'ghost-1' },
      );
      expect(replay).toMatchObject({ status: 404, body: { error: 'account not found' } });
      expect((await call('GET', '/balance/ghost')).body).toMatchObject({ balance: 5 });
    });

    it('stores nothing for a 400, so the key stays free', async () => {
      expect(await deduct('fresh', -5)).toMatchObject({ status: 400 });
      expect(await deduct('fresh', 1)).toMatchObject({ status: 200 });
    });

    it('refuses malformed and repeated keys with 400', async () => {
      expect(await deduct('')).toMatchObject({ status: 400 });
      expect(await deduct('k'.repeat(256))).toMatchObject({ status: 400 });
      expect(await deduct('has space')).toMatchObject({ status: 400 });
      const repeated = await rawRequest(`${service.url}/deduct`, {
        method: 'POST',
        rawHeaders: [
          'X-INTERNAL-TOKEN',
          token,
          'Content-Type',
          'application/json',
          'Idempotency-Key',
          'a',
          'Idempotency-Key',
          'b',
        ],
        body: JSON.stringify({ user_id: user, amount: 1 }),
      });
      expect(repeated).toMatchObject({
        status: 400,
        body: { error: 'Idempotency-Key must appear once' },
      });
    });

    it('replays a finished request to every retry that arrives at once, never with 409', async () => {
      const first = await deduct('finished-then-burst');
      expect(first.status).toBe(200);
      const replays = await Promise.all(
        Array.from({ length: 5 }, () => deduct('finished-then-burst')),
      );
      expect(replays.map((replay) => replay.status)).toEqual([200, 200, 200, 200, 200]);
      for (const replay of replays) {
        expect(JSON.stringify(replay.body)).toBe(JSON.stringify(first.body));
      }
      // One charge: the balance is still what the first answer said.
      expect((await call('GET', `/balance/${user}`)).body).toMatchObject({
        balance: (first.body as { balance: number }).balance,
      });
    });

    it('charges once for 20 simultaneous copies of one request', async () => {
      const before = (await call('GET', `/balance/${user}`)).body as { balance: number };
      const responses: TestResponse[] = await Promise.all(
        Array.from({ length: 20 }, () => deduct('burst')),
      );
      for (const response of responses) expect([200, 409]).toContain(response.status);
      expect((await call('GET', `/balance/${user}`)).body).toMatchObject({
        balance: before.balance - 1,
      });
    });

    if (backend === 'postgres') {
      // A request still in flight holds the key's lock; PGlite serialises transactions, so
      // there it is only observable as a wait. Here another session holds the lock.
      it('answers 409 while a request with the same key is in flight', async () => {
        const holder = new Client({ connectionString: databaseUrl });
        await holder.connect();
        try {
          await holder.query(
            "SELECT pg_advisory_lock(hashtextextended('idempotency/unspecified/in-flight', 0))",
          );
          expect(await deduct('in-flight')).toMatchObject({ status: 409 });
          await holder.query(
            "SELECT pg_advisory_unlock(hashtextextended('idempotency/unspecified/in-flight', 0))",
          );
          expect(await deduct('in-flight')).toMatchObject({ status: 200 });
        } finally {
          await holder.end();
        }
      });
    }
  });

  it('answers its public health route', async () => {
    expect(await request(`${service.url}/health`)).toMatchObject({
      status: 200,
      body: { status: 'ok', checks: { database: 'up' } },
    });
  });
});

describe('billing-server refuses to start without a strong token', () => {
  it.each([
    ['missing', undefined, 'INTERNAL_SERVICE_TOKEN is not set'],
    ['empty', '', 'INTERNAL_SERVICE_TOKEN is empty'],
    [
      'short',
      'aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bD1f',
      'INTERNAL_SERVICE_TOKEN is shorter than 32 characters',
    ],
    [
      'repetitive',
      'abababababababababababababababababab',
      'INTERNAL_SERVICE_TOKEN has fewer than 12 distinct characters',
    ],
    [
      'the placeholder',
      'YOUR_GENERATED_TOKEN_HERE_BASE64_32_BYTES',
      'INTERNAL_SERVICE_TOKEN is a placeholder',
    ],
  ])('%s: exits 1 with one line naming the variable', async (_label, value, message) => {
    const result = await runServiceToExit({
      main,
      env: { INTERNAL_SERVICE_TOKEN: value, BILLING_SERVER_PORT: '0', DATA_DIR: tmpdir() },
    });
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0].startsWith(`configuration error: ${message}`)).toBe(true);
    if (value) expect(result.stderr + result.stdout).not.toContain(value);
    expect(result.stdout).not.toContain('listening');
  });

  it('exits 1 naming a bad port variable', async () => {
    const result = await runServiceToExit({
      main,
      env: { INTERNAL_SERVICE_TOKEN: generateToken(), BILLING_SERVER_PORT: 'eighty' },
    });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      'configuration error: BILLING_SERVER_PORT must be a whole number between 0 and 65535',
    );
  });
});
