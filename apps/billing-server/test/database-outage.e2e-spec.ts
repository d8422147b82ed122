import {
  builtServiceMain,
  createScratchDatabase,
  generateToken,
  jsonLogLines,
  request,
  runningInCi,
  type ScratchDatabase,
  type ServiceProcess,
  startServiceProcess,
  startTcpProxy,
  type TcpProxy,
  testDatabaseAdminUrl,
  waitForLogLine,
} from '@zt/test-kit';

// A PostgreSQL server is needed; CI always has one, so only a developer's run may skip.
const describeOnServer = testDatabaseAdminUrl() || runningInCi() ? describe : describe.skip;

describeOnServer('billing-server while its PostgreSQL is out of reach', () => {
  const token = generateToken();
  const user = 'outage-user';
  let scratch: ScratchDatabase;
  let proxy: TcpProxy;
  let service: ServiceProcess;

  beforeAll(async () => {
    scratch = await createScratchDatabase();
    const server = new URL(scratch.url);
    proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 5432) });
    service = await startServiceProcess({
      main: builtServiceMain('billing-server'),
      env: {
        INTERNAL_SERVICE_TOKEN: token,
        BILLING_SERVER_PORT: '0',
        DATABASE_URL: proxy.through(scratch.url),
      },
    });
  });

  afterAll(async () => {
    proxy.restore();
    expect((await service.stop()).graceful).toBe(true);
    await proxy.close();
    await scratch.drop();
  });

  const call = (method: string, path: string, json?: unknown, headers = {}) =>
    request(`${service.url}${path}`, {
      method,
      json,
      headers: { 'X-INTERNAL-TOKEN': token, ...headers },
    });
  const deduct = (key: string) =>
    call('POST', '/deduct', { user_id: user, amount: 1 }, { 'Idempotency-Key': key });

  it('answers 503 database unavailable, stays up, and charges a retried deduct once when the database is back', async () => {
    expect((await call('POST', '/account', { user_id: user, tier: 'pro' })).status).toBe(201);
    proxy.cut();

    const unavailable = { status: 503, body: { error: 'database unavailable' } };
    expect(await call('GET', `/balance/${user}`)).toMatchObject(unavailable);
    expect(await deduct('outage-1')).toMatchObject(unavailable);
    // A hold is placed in a transaction, refused here before it begins (a connection lost in
    // the middle of one: libs/database's pg-database.spec).
    const hold = { hold_id: 'outage-hold', user_id: user, amount: 1, reason: 'a write' };
    expect(await call('POST', '/holds', hold, { 'X-Caller-Service': 'backend' })).toMatchObject(
      unavailable,
    );
    expect((await call('GET', '/health/ready')).status).toBe(503);
    expect(
      await waitForLogLine(
        service,
        (line) => line['event'] === 'dependency_unavailable' && line['path'] === '/deduct',
      ),
    ).toMatchObject({ level: 'warn', dependency: 'database' });

    proxy.restore();
    const retried = await deduct('outage-1');
    expect(retried).toMatchObject({ status: 200, body: { balance: 4 } });
    expect(await deduct('outage-1')).toMatchObject({ status: 200, body: retried.body });
    const ledger = (await call('GET', `/ledger/${user}?limit=100`)).body as {
      entries: Array<{ kind: string }>;
    };
    expect(ledger.entries.filter((entry) => entry.kind === 'deduct')).toHaveLength(1);
    // An outage is not a fault of the code: no error line, no stack.
    const errors = jsonLogLines(service).filter((line) => line['event'] === 'unhandled_error');
    expect(errors).toEqual([]);
    expect(service.output()).not.toContain('"stack"');
  });
});
