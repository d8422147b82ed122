import { launchStack, type ServiceStack, startService } from '@zt/stack-launcher';
import type { ServiceAudience } from '@zt/contracts';
import {
  generateToken,
  inheritedProcessEnvironment,
  readMetric,
  registerUser,
  request,
  type ServiceProcess,
  StackCredentials,
  stackHttpAdapter,
  type TestResponse,
  workspaceRoot,
} from '@zt/test-kit';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const PASSWORD = 'a password nobody should ever read in a log';

/** One JSON log line, as the services write them with LOG_FORMAT=json. */
interface LogLine {
  readonly level: string;
  readonly service: string;
  readonly msg?: string;
  readonly event?: string;
  readonly request_id?: string;
  readonly caller?: string;
  readonly req?: {
    readonly method: string;
    readonly url: string;
    readonly route?: string;
    readonly headers: Record<string, string>;
  };
  readonly res?: { readonly status_code: number };
}

function logLines(service: ServiceProcess): LogLine[] {
  return service
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

/** The `request completed` lines of `service` for the request `requestId`. */
function completions(service: ServiceProcess, requestId: string): LogLine[] {
  return logLines(service).filter(
    (line) => line.request_id === requestId && line.msg === 'request completed',
  );
}

/** Waits until `service` has logged the end of `atLeast` requests of id `requestId` (its pipe may lag a little). */
async function completionsOf(
  service: ServiceProcess,
  requestId: string,
  atLeast = 1,
): Promise<LogLine[]> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const found = completions(service, requestId);
    if (found.length >= atLeast) return found;
    await sleep(20);
  }
  return completions(service, requestId);
}

/**
 * Operations across the four built services, as processes: request ids followed through the
 * logs of every service one user action reached, no secret in any log, metrics behind the
 * internal credential, and health.
 */
describe('observability of the stack (logs, request ids, metrics, health)', () => {
  // In the mode E2E_INTERNAL_AUTH_MODE names: npm test runs this suite in token and token+jwt.
  const credentials = new StackCredentials();
  const internalToken = credentials.internalToken;
  /** Every service token a test sent, so that no log may show one. */
  const serviceTokens = new Set<string>();
  /**
   * The internal credential of a call to `audience` as `clientId` (in `token` mode the shared
   * token, whoever the caller): `metrics-scraper` for metrics, `backend` for what the backend
   * calls.
   */
  const internal = async (clientId: string, audience: ServiceAudience) => {
    const headers = await credentials.headers(auth().url, clientId, audience);
    const bearer = /^Bearer (.+)$/.exec(headers['Authorization'] ?? '')?.[1];
    if (bearer !== undefined) serviceTokens.add(bearer);
    return headers;
  };
  /** A scrape as Prometheus makes it: `Authorization: Bearer <read-only credential>` alone. */
  const scrape = async (audience: ServiceAudience, service: ServiceProcess) => {
    const headers = await credentials.scrapeHeaders(auth().url, audience);
    const bearer = /^Bearer (.+)$/.exec(headers['Authorization'] ?? '')?.[1];
    if (bearer !== undefined && bearer !== credentials.metricsToken) serviceTokens.add(bearer);
    return request(`${service.url}/metrics`, { headers });
  };
  const dataDir = mkdtempSync(join(tmpdir(), 'observability-e2e-'));
  let stack: ServiceStack;
  let inviteCode: string;
  let accessToken: string;
  let userId: string;

  // The current process of each service (the filesystem is restarted below).
  const api = () => stack.process('backend');
  const auth = () => stack.process('auth-server');
  const billing = () => stack.process('billing-server');
  const filesystem = () => stack.process('filesystem-server');
  const byName = () =>
    [
      ['backend', api()],
      ['auth-server', auth()],
      ['billing-server', billing()],
      ['filesystem-server', filesystem()],
    ] as const;
  const all = () => byName().map(([, service]) => service);
  const asUser = (headers: Record<string, string> = {}) => ({
    Authorization: `Bearer ${accessToken}`,
    ...headers,
  });

  beforeAll(async () => {
    stack = await launchStack({
      env: {
        ...inheritedProcessEnvironment(),
        ...credentials.environment(),
        DATA_DIR: dataDir,
        LOG_FORMAT: 'json',
      },
    });
    const user = await registerUser(auth().url, await internal('operator', 'auth-server'), {
      tier: 'pro',
      email: 'ops@example.com',
      password: PASSWORD,
    });
    ({ inviteCode, accessToken, userId } = user);
  });

  afterAll(async () => {
    await stack?.stopAll();
    rmSync(dataDir, { recursive: true, force: true });
  });

  describe('request ids', () => {
    it('follows one metered write through the logs of backend, billing and filesystem', async () => {
      const requestId = `trace-${randomUUID()}`;
      const write = await request(`${api().url}/me/files/notes/traced.txt`, {
        method: 'PUT',
        headers: asUser({ 'X-Request-ID': requestId }),
        body: 'followed across services',
      });
      expect(write).toMatchObject({ status: 201, body: { path: 'notes/traced.txt' } });
      expect(write.headers.get('x-request-id')).toBe(requestId);

      const [atBackend, atBilling, atFilesystem] = await Promise.all([
        completionsOf(api(), requestId),
        // Two lines (the hold, then its capture), each written when its request completes.
        completionsOf(billing(), requestId, 2),
        completionsOf(filesystem(), requestId),
      ]);
      expect(atBackend).toEqual([
        expect.objectContaining({
          service: 'backend',
          req: expect.objectContaining({ method: 'PUT', route: '/me/files/*path' }),
          res: { status_code: 201 },
        }),
      ]);
      // The price is held, then the hold captured once the file is stored.
      expect(atBilling).toEqual([
        expect.objectContaining({
          service: 'billing-server',
          req: expect.objectContaining({
            method: 'POST',
            url: '/holds',
            headers: expect.objectContaining({ 'x-caller-service': 'backend' }),
          }),
          res: { status_code: 201 },
        }),
        expect.objectContaining({
          service: 'billing-server',
          req: expect.objectContaining({ method: 'POST', route: '/holds/:hold_id/capture' }),
          res: { status_code: 200 },
        }),
      ]);
      expect(atFilesystem).toEqual([
        expect.objectContaining({
          service: 'filesystem-server',
          req: expect.objectContaining({ method: 'PUT', url: '/files/notes/traced.txt' }),
          res: { status_code: 201 },
        }),
      ]);
      // The verified caller, beside the header any caller may set: in token mode nobody is
      // verified, so no line names one.
      const caller = credentials.mode === 'token' ? undefined : 'backend';
      expect([...atBilling, ...atFilesystem].map((line) => line.caller)).toEqual([
        caller,
        caller,
        caller,
      ]);
      // The auth server took no part in this write.
      expect(completions(auth(), requestId)).toEqual([]);
    });

    it('creates an id when the client sends none (or an unusable one) and passes it on', async () => {
      for (const headers of [asUser(), asUser({ 'X-Request-ID': 'bad id "with" quotes' })]) {
        const profile = await request(`${api().url}/me`, { headers });
        expect(profile).toMatchObject({ status: 200, body: { user_id: userId } });
        const requestId = profile.headers.get('x-request-id') ?? '';
        expect(requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        expect(await completionsOf(api(), requestId)).toHaveLength(1);
        expect(await completionsOf(billing(), requestId)).toEqual([
          expect.objectContaining({
            req: expect.objectContaining({ method: 'GET', url: `/balance/${userId}` }),
          }),
        ]);
      }
      // The unusable id is seen (escaped) among the request's headers, never used as its id.
      expect(logLines(api()).filter((line) => line.request_id?.includes('bad id'))).toEqual([]);
    });

    it('puts the request id on the structured events of the request too', async () => {
      const requestId = `denied-${randomUUID()}`;
      const refused = await request(`${billing().url}/balance/${userId}`, {
        headers: { 'X-INTERNAL-TOKEN': generateToken(), 'X-Request-ID': requestId },
      });
      expect(refused).toMatchObject({ status: 403, body: { error: 'Forbidden' } });
      await completionsOf(billing(), requestId);
      expect(logLines(billing()).filter((line) => line.request_id === requestId)).toEqual([
        expect.objectContaining({
          level: 'warn',
          event: 'internal_auth_denied',
          reason: 'mismatch',
          path: `/balance/${userId}`,
        }),
        expect.objectContaining({ msg: 'request completed', res: { status_code: 403 } }),
      ]);
    });
  });

  describe('secrets', () => {
    it('never writes a credential, a password, an invite code or an access token to a log', async () => {
      const misplaced = generateToken();
      // Secrets where they belong, and where they do not (query strings, cookies, bodies).
      const attempts: Array<[ServiceProcess, Promise<TestResponse>]> = [
        [
          api(),
          request(`${api().url}/me?access_token=${accessToken}`, {
            headers: asUser({ Cookie: `session=${misplaced}`, 'X-INTERNAL-TOKEN': internalToken }),
          }),
        ],
        [api(), request(`${api().url}/me`, { headers: { Authorization: `Bearer ${misplaced}` } })],
        [
          auth(),
          request(`${auth().url}/login`, {
            method: 'POST',
            json: { email: 'ops@example.com', password: `${PASSWORD} (wrong)` },
          }),
        ],
        [
          auth(),
          request(`${auth().url}/register`, {
            method: 'POST',
            json: { email: 'ops@example.com', password: PASSWORD, invite_code: inviteCode },
          }),
        ],
        [
          billing(),
          request(`${billing().url}/balance/${userId}?token=${internalToken}`, {
            headers: await internal('backend', 'billing-server'),
          }),
        ],
        [
          billing(),
          request(`${billing().url}/metrics`, { headers: { 'X-INTERNAL-TOKEN': misplaced } }),
        ],
        [
          filesystem(),
          request(`${filesystem().url}/files`, {
            // In token+jwt the service token takes the user's token's place in Authorization.
            headers: {
              Authorization: `Bearer ${accessToken}`,
              ...(await internal('backend', 'filesystem-server')),
              'X-User-ID': userId,
            },
          }),
        ],
      ];
      const answers = await Promise.all(attempts.map(([, answer]) => answer));
      expect(answers.map((answer) => answer.status)).toEqual([200, 401, 401, 403, 200, 401, 200]);
      // Every one of them was logged (and so went through the redaction).
      for (const [index, [service]] of attempts.entries()) {
        const requestId = answers[index].headers.get('x-request-id') ?? '';
        expect(await completionsOf(service, requestId)).toHaveLength(1);
      }

      const logs = all()
        .map((service) => service.output())
        .join('\n');
      const secrets = {
        ...Object.fromEntries(
          credentials.secrets().map((secret, index) => [`stack secret ${index}`, secret]),
        ),
        ...Object.fromEntries(
          [...serviceTokens].map((token, index) => [`service token ${index}`, token]),
        ),
        misplaced,
        password: PASSWORD,
        inviteCode,
        accessToken,
        accessTokenSignature: accessToken.split('.')[2],
      };
      for (const [name, secret] of Object.entries(secrets)) {
        expect({ name, leaked: logs.includes(secret) }).toEqual({ name, leaked: false });
      }
      // The requests were logged: the credential headers left out, secret query values replaced.
      expect(api().output()).toContain('access_token=[Redacted]');
      expect(billing().output()).toContain('token=[Redacted]');
      for (const header of ['"authorization"', '"cookie"', '"x-internal-token"']) {
        expect(api().output() + billing().output()).not.toContain(header);
      }
    });

    it('writes readable lines with LOG_FORMAT=text, secrets redacted there too', async () => {
      const readable = await startService('filesystem-server', {
        env: {
          ...inheritedProcessEnvironment(),
          ...credentials.environment(),
          DATA_DIR: join(dataDir, 'text-format'),
          LOG_FORMAT: 'text',
        },
        // The issuer of the service tokens it verifies in token+jwt.
        urls: { 'auth-server': auth().url },
      });
      try {
        const requestId = `text-${randomUUID()}`;
        const listing = await request(`${readable.url}/files?token=${internalToken}`, {
          headers: {
            ...(await internal('backend', 'filesystem-server')),
            'X-User-ID': userId,
            'X-Request-ID': requestId,
          },
        });
        expect(listing.status).toBe(200);
        let line: string | undefined;
        for (let attempt = 0; attempt < 100 && line === undefined; attempt += 1) {
          line = readable
            .output()
            .split('\n')
            .find((candidate) => candidate.includes(requestId));
          if (line === undefined) await sleep(20);
        }
        // pino-pretty shows a line's `caller`, the verified caller, as `<caller>`.
        const caller = credentials.mode === 'token' ? '' : ' <backend>';
        expect(line).toMatch(
          new RegExp(`^\\[\\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\] INFO${caller}: request completed `),
        );
        expect(line).toContain('"status_code":200');
        // Its ready line names the adapter this pass runs on (E2E_HTTP_ADAPTER).
        expect(readable.output()).toMatch(
          new RegExp(
            `INFO: filesystem-server listening on http://\\S+ \\(${stackHttpAdapter() ?? 'express'}\\)`,
          ),
        );
        for (const secret of [...credentials.secrets(), ...serviceTokens]) {
          expect(readable.output()).not.toContain(secret);
        }
      } finally {
        await readable.stop();
      }
    });
  });

  describe('metrics', () => {
    it('serves each service its metrics with the read-only scrape credential, and nothing without it', async () => {
      for (const [name, service] of byName()) {
        const attempts: Array<Record<string, string>> = [
          {},
          asUser(),
          // The shared token can move money: it no longer opens /metrics.
          { 'X-INTERNAL-TOKEN': internalToken },
          { Authorization: `Bearer ${internalToken}` },
          { Authorization: `Bearer ${generateToken()}` },
        ];
        for (const headers of attempts) {
          const refused = await request(`${service.url}/metrics`, { headers });
          expect(refused).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
          expect(refused.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
        }
        const scraped = await scrape(name, service);
        expect(scraped.status).toBe(200);
        expect(readMetric(scraped.body as string, 'process_cpu_user_seconds_total')).toBeDefined();
        expect(
          readMetric(scraped.body as string, 'internal_auth_denied_total', {
            reason: 'bearer_missing',
          }),
        ).toBeGreaterThanOrEqual(1);
      }
    });

    it('has every series docs/grafana/security-dashboard.json queries, so the dashboard cannot rot unseen', async () => {
      const dashboard = JSON.parse(
        readFileSync(join(workspaceRoot(), 'docs', 'grafana', 'security-dashboard.json'), 'utf8'),
      ) as { panels: Array<{ title: string; type: string; targets?: Array<{ expr: string }> }> };
      const exposed = new Set<string>();
      for (const [name, service] of byName()) {
        const text = (await scrape(name, service)).body as string;
        for (const line of text.split('\n')) {
          // A sample, or a metric declared with no series yet (a counter without labels, such
          // as internal_auth_shadow_denied_total, before its first count).
          const metric = /^(?:# TYPE )?([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line)?.[1];
          if (metric !== undefined) exposed.add(metric);
        }
      }
      // Not a service's own: Prometheus's per-target `up`, and the per-client rate limiter's
      // counter (issue 14, item 2, built beside this one).
      const elsewhere = new Set(['up', 'rate_limited_requests_total']);
      const panels = dashboard.panels.filter((panel) => panel.type !== 'row');
      const missing: string[] = [];
      for (const panel of panels) {
        if (!panel.targets?.length) missing.push(`${panel.title}: no query`);
        for (const { expr } of panel.targets ?? []) {
          // Every metric of an expression is written with its braces: `name{...}`.
          const names = [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{/g)].map((m) => m[1]);
          if (names.length === 0) missing.push(`${panel.title}: no metric in ${expr}`);
          for (const metric of names) {
            if (!exposed.has(metric) && !elsewhere.has(metric)) {
              missing.push(`${panel.title}: ${metric}`);
            }
          }
        }
      }
      expect(missing).toEqual([]);
      // The four signals of issue 14: denials by reason, breakers, token issuance, rate limits.
      const queried = panels.flatMap((panel) => panel.targets ?? []).map((t) => t.expr);
      for (const metric of [
        'internal_auth_denied_total',
        'internal_circuit_breaker_state',
        'oauth_token_requests_total',
        'rate_limited_requests_total',
      ]) {
        expect(queried.filter((expr) => expr.includes(`${metric}{`))).not.toEqual([]);
      }
    });

    it('opens nothing but /metrics with the metrics token', async () => {
      const metricsToken = credentials.metricsToken;
      const attempts: Array<[string, Record<string, string>]> = [
        [`${billing().url}/balance/${userId}`, { 'X-INTERNAL-TOKEN': metricsToken }],
        [`${billing().url}/balance/${userId}`, { Authorization: `Bearer ${metricsToken}` }],
        [`${auth().url}/stats`, { 'X-INTERNAL-TOKEN': metricsToken }],
        [`${filesystem().url}/files`, { 'X-INTERNAL-TOKEN': metricsToken, 'X-User-ID': userId }],
        [`${api().url}/me`, { Authorization: `Bearer ${metricsToken}` }],
      ];
      for (const [url, headers] of attempts) {
        const answer = await request(url, { headers });
        expect([401, 403]).toContain(answer.status);
      }
    });

    it('counts requests by route and status, holds and ledger operations, and breaker states', async () => {
      const before = (await scrape('billing-server', billing())).body as string;
      const holds = (text: string, action: string) =>
        readMetric(text, 'billing_holds_total', { action, result: 'applied' }) ?? 0;
      const write = await request(`${api().url}/me/files/counted.txt`, {
        method: 'PUT',
        headers: asUser(),
        body: 'counted',
      });
      expect(write.status).toBe(201);

      const atBilling = (await scrape('billing-server', billing())).body as string;
      expect(holds(atBilling, 'place')).toBe(holds(before, 'place') + 1);
      expect(holds(atBilling, 'capture')).toBe(holds(before, 'capture') + 1);
      expect(holds(atBilling, 'release')).toBe(holds(before, 'release'));
      expect(
        readMetric(atBilling, 'billing_ledger_operations_total', {
          kind: 'opening',
          result: 'applied',
        }),
      ).toBe(1);

      const atBackend = (await scrape('backend', api())).body as string;
      expect(
        readMetric(atBackend, 'http_request_duration_seconds_count', {
          service: 'backend',
          method: 'PUT',
          route: '/me/files/*path',
          status_code: '201',
        }),
      ).toBeGreaterThanOrEqual(2);
      for (const upstream of ['billing', 'filesystem']) {
        expect(
          readMetric(atBackend, 'internal_circuit_breaker_state', { upstream, state: 'closed' }),
        ).toBe(1);
      }
      const atAuth = (await scrape('auth-server', auth())).body as string;
      expect(
        readMetric(atAuth, 'internal_circuit_breaker_state', {
          upstream: 'billing',
          state: 'closed',
        }),
      ).toBe(1);
    });
  });

  describe('health', () => {
    it('answers live and ready on every service without a credential', async () => {
      for (const service of all()) {
        expect(await request(`${service.url}/health/live`)).toMatchObject({
          status: 200,
          body: { status: 'ok' },
        });
        expect(await request(`${service.url}/health/ready`)).toMatchObject({
          status: 200,
          body: { status: 'ok' },
        });
      }
      expect(await request(`${api().url}/health/ready`)).toMatchObject({
        body: {
          details: {
            billing: { status: 'up', breaker: 'closed' },
            filesystem: { status: 'up', breaker: 'closed' },
          },
        },
      });
      expect(await request(`${billing().url}/health/ready`)).toMatchObject({
        body: { details: { database: { status: 'up' } } },
      });
    });

    it('keeps the backend live but not ready while the filesystem is down, and says so once', async () => {
      await stack.stop('filesystem-server');
      try {
        for (let attempt = 0; attempt < 10; attempt += 1) {
          await request(`${api().url}/me/files`, { headers: asUser() });
        }
        expect(await request(`${api().url}/health/ready`)).toMatchObject({
          status: 503,
          body: {
            status: 'error',
            error: { filesystem: { status: 'down', breaker: 'open' } },
          },
        });
        await request(`${api().url}/health/ready`);
        expect(await request(`${api().url}/health/live`)).toMatchObject({ status: 200 });
        const changes = logLines(api()).filter((line) => line.event === 'readiness_changed');
        expect(changes).toEqual([
          expect.objectContaining({ level: 'warn', ready: false, down: ['filesystem'] }),
        ]);
      } finally {
        // On the same port and data, as before.
        await stack.start('filesystem-server');
      }
    });
  });
});
