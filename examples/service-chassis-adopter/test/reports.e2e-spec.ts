import {
  builtServiceMain,
  generateToken,
  headerLines,
  readMetric,
  request,
  runServiceToExit,
  type ScriptedServer,
  sendJson,
  type ServiceProcess,
  startScriptedServer,
  startServiceProcess,
  waitForLogLine,
} from '@zt/test-kit';

/**
 * The chassis sample (examples/service-chassis-adopter), built and started as its own process,
 * with a real ledger server behind it: what the chassis README promises, over real HTTP.
 */
describe('a NestJS app on the chassis (examples/service-chassis-adopter)', () => {
  const main = builtServiceMain('service-chassis-adopter', { folder: 'examples' });
  const token = generateToken();
  const metricsToken = generateToken();
  let ledger: ScriptedServer;
  let reports: ServiceProcess;

  beforeAll(async () => {
    ledger = await startScriptedServer((seen, response) => {
      if (seen.url === '/balance/user-1')
        sendJson(response, 200, { user_id: 'user-1', balance: 5 });
      else if (seen.url === '/balance/user-down') sendJson(response, 503, { error: 'busy' });
      else sendJson(response, 404, { error: 'account not found' });
    });
    reports = await startServiceProcess({
      main,
      env: {
        INTERNAL_SERVICE_TOKEN: token,
        METRICS_TOKEN: metricsToken,
        REPORTS_PORT: '0',
        LEDGER_URL: ledger.url,
        // One failing user must not open the breaker for the others in this suite.
        CIRCUIT_BREAKER_VOLUME_THRESHOLD: '1000',
      },
    });
  });

  afterAll(async () => {
    await reports?.stop();
    await ledger?.close();
  });

  it('answers its health routes without a credential, its upstream breaker included', async () => {
    expect(await request(`${reports.url}/health/live`)).toMatchObject({
      status: 200,
      body: { status: 'ok' },
    });
    expect(await request(`${reports.url}/health/ready`)).toMatchObject({
      status: 200,
      body: { status: 'ok', details: { ledger: { status: 'up', breaker: 'closed' } } },
    });
  });

  it('serves /metrics with the read-only metrics token only, counting the refusals', async () => {
    // Neither no credential nor the internal token (which can move money) opens it.
    const refusedCredentials: Record<string, string>[] = [{}, { 'X-INTERNAL-TOKEN': token }];
    for (const headers of refusedCredentials) {
      const refused = await request(`${reports.url}/metrics`, { headers });
      expect({ status: refused.status, body: refused.body }).toEqual({
        status: 401,
        body: { error: 'unauthorized' },
      });
    }
    const metrics = await request(`${reports.url}/metrics`, {
      headers: { Authorization: `Bearer ${metricsToken}` },
    });
    expect(metrics.status).toBe(200);
    const exposition = String(metrics.body);
    expect(readMetric(exposition, 'internal_auth_denied_total', { reason: 'bearer_missing' })).toBe(
      2,
    );
    expect(
      readMetric(exposition, 'http_request_duration_seconds_count', {
        route: '/metrics',
        status_code: '401',
      }),
    ).toBe(2);
  });

  it('calls the ledger through InternalHttpClient with the credential, its name and the request id', async () => {
    const answer = await request(`${reports.url}/reports/balance`, {
      headers: { 'X-INTERNAL-TOKEN': token, 'X-User-ID': 'user-1', 'X-Request-ID': 'adopt-1' },
    });
    expect({ status: answer.status, body: answer.body }).toEqual({
      status: 200,
      body: { user_id: 'user-1', balance: 5 },
    });
    expect(answer.headers.get('x-request-id')).toBe('adopt-1');
    const call = ledger.seen.find((seen) => headerLines(seen, 'X-Request-ID')[0] === 'adopt-1');
    expect(call?.url).toBe('/balance/user-1');
    expect(headerLines(call, 'X-INTERNAL-TOKEN')).toEqual([token]);
    expect(headerLines(call, 'X-Caller-Service')).toEqual(['reports']);
    expect(headerLines(call, 'X-User-ID')).toEqual(['user-1']);
  });

  it('logs each request as one JSON line with its request id, never the token', async () => {
    await request(`${reports.url}/reports/balance`, {
      headers: { 'X-INTERNAL-TOKEN': token, 'X-User-ID': 'user-1', 'X-Request-ID': 'adopt-2' },
    });
    const line = await waitForLogLine(
      reports,
      (entry) => entry['request_id'] === 'adopt-2' && entry['msg'] === 'request completed',
    );
    expect(line).toMatchObject({
      level: 'info',
      req: { method: 'GET', url: '/reports/balance' },
      res: { status_code: 200 },
    });
    expect(reports.output()).not.toContain(token);
  });

  it('answers 404 and 503 in the one error shape', async () => {
    const headers = { 'X-INTERNAL-TOKEN': token };
    const missing = await request(`${reports.url}/reports/balance`, {
      headers: { ...headers, 'X-User-ID': 'user-2' },
    });
    expect({ status: missing.status, body: missing.body }).toEqual({
      status: 404,
      body: { error: 'account not found' },
    });
    const down = await request(`${reports.url}/reports/balance`, {
      headers: { ...headers, 'X-User-ID': 'user-down' },
    });
    expect({ status: down.status, body: down.body }).toEqual({
      status: 503,
      body: { error: 'ledger unavailable' },
    });
  });

  it('refuses to start on a weak token, in one line naming the variable', async () => {
    const run = await runServiceToExit({
      main,
      env: { INTERNAL_SERVICE_TOKEN: 'changeme', REPORTS_PORT: '0' },
    });
    expect(run).toEqual({
      code: 1,
      stdout: '',
      stderr: 'configuration error: INTERNAL_SERVICE_TOKEN is shorter than 32 characters\n',
    });
  });
});
