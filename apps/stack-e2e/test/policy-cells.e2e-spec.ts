import {
  policyTable,
  SERVICE_AUDIENCES,
  SERVICE_CLIENTS,
  type ServiceAudience,
} from '@zt/contracts';
import { launchStack, type ServiceStack } from '@zt/stack-launcher';
import {
  generateClientSecrets,
  basicCredentials,
  inheritedProcessEnvironment,
  request,
  type TestRequest,
  type TestResponse,
  workspaceRoot,
} from '@zt/test-kit';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A user nobody registered: billing knows no account of it, the filesystem no file. */
const USER = 'u1';

/** One request to an internal route, and what the route answers a caller its guard lets pass. */
interface Probe extends TestRequest {
  /** The path with sample values for its parameters. */
  readonly path: string;
  /**
   * The status the route gives this request once past the guard. Each request is built so
   * that it does not depend on what ran before (unknown ids, or fresh ones).
   */
  readonly passes: number;
}

/**
 * A request for each internal route (`METHOD /path` as docs/api writes it), built afresh for
 * each call. A route added to docs/api without a probe here fails the suite.
 */
const PROBES: Record<ServiceAudience, Record<string, () => Probe>> = {
  'auth-server': {
    'POST /invites': () => ({
      path: '/invites',
      method: 'POST',
      json: { tier: 'free' },
      passes: 201,
    }),
    'GET /metrics': () => ({ path: '/metrics', passes: 200 }),
    'GET /revocations': () => ({ path: '/revocations', passes: 200 }),
    'POST /revocations': () => ({
      path: '/revocations',
      method: 'POST',
      json: {
        user_id: randomUUID(),
        jti: randomUUID(),
        expires_at: Math.floor(Date.now() / 1000) + 600,
      },
      passes: 404,
    }),
    'GET /stats': () => ({ path: '/stats', passes: 200 }),
    // A new password under 12 characters: the route's 400. Its 401 (a wrong current
    // password) would read like a refusal of the guard.
    'POST /users/{user_id}/password': () => ({
      path: `/users/${randomUUID()}/password`,
      method: 'POST',
      json: { current_password: 'not the password', new_password: 'short' },
      passes: 400,
    }),
  },
  'billing-server': {
    'POST /account': () => ({
      path: '/account',
      method: 'POST',
      json: { user_id: `policy-${randomUUID()}`, tier: 'free' },
      passes: 201,
    }),
    'GET /balance/{user_id}': () => ({ path: `/balance/${USER}`, passes: 404 }),
    'POST /deduct': () => ({
      path: '/deduct',
      method: 'POST',
      headers: { 'Idempotency-Key': randomUUID() },
      json: { user_id: USER, amount: 1 },
      passes: 404,
    }),
    'GET /holds': () => ({ path: '/holds', passes: 200 }),
    'POST /holds': () => ({
      path: '/holds',
      method: 'POST',
      json: { hold_id: randomUUID(), user_id: USER, amount: 1 },
      passes: 404,
    }),
    'POST /holds/{hold_id}/capture': () => ({
      path: `/holds/${randomUUID()}/capture`,
      method: 'POST',
      passes: 404,
    }),
    'POST /holds/{hold_id}/release': () => ({
      path: `/holds/${randomUUID()}/release`,
      method: 'POST',
      passes: 404,
    }),
    'GET /ledger/{user_id}': () => ({ path: `/ledger/${USER}`, passes: 404 }),
    'GET /metrics': () => ({ path: '/metrics', passes: 200 }),
    'GET /stats/subscription_count': () => ({ path: '/stats/subscription_count', passes: 200 }),
    'POST /top_up': () => ({
      path: '/top_up',
      method: 'POST',
      headers: { 'Idempotency-Key': randomUUID() },
      json: { user_id: USER, amount: 1 },
      passes: 404,
    }),
  },
  'filesystem-server': {
    'GET /files': () => ({ path: '/files', headers: { 'X-User-ID': USER }, passes: 200 }),
    'GET /files/{path}': () => ({
      path: '/files/policy/absent.txt',
      headers: { 'X-User-ID': USER },
      passes: 404,
    }),
    'PUT /files/{path}': () => ({
      path: `/files/policy/${randomUUID()}.txt`,
      method: 'PUT',
      headers: {
        'X-User-ID': USER,
        'X-Write-ID': randomUUID(),
        'Content-Type': 'application/octet-stream',
      },
      body: 'written by the policy suite',
      passes: 201,
    }),
    'DELETE /files/{path}': () => ({
      path: '/files/policy/absent.txt',
      method: 'DELETE',
      headers: { 'X-User-ID': USER },
      passes: 404,
    }),
    'GET /metrics': () => ({ path: '/metrics', passes: 200 }),
    'GET /writes': () => ({ path: '/writes', headers: { 'X-User-ID': USER }, passes: 200 }),
    'POST /writes/{write_id}/resolve': () => ({
      path: `/writes/${randomUUID()}/resolve`,
      method: 'POST',
      headers: { 'X-User-ID': USER },
      passes: 200,
    }),
  },
  backend: {
    'GET /metrics': () => ({ path: '/metrics', passes: 200 }),
  },
};

/** What a cell of the table means at the route, as {@link verdict} describes an answer. */
const REFUSED = 'refused: 403 insufficient_scope';
const passes = (status: number) => `passes the guard: ${status}`;

/** An answer, as the table would describe it: refused for want of a scope, or let through. */
function verdict(response: TestResponse): string {
  const challenge = response.headers.get('www-authenticate') ?? '';
  if (response.status === 401 || response.status === 403) {
    const forbidden = JSON.stringify(response.body) === JSON.stringify({ error: 'Forbidden' });
    return response.status === 403 && forbidden && challenge.includes('error="insufficient_scope"')
      ? REFUSED
      : `refused otherwise: ${response.status} ${JSON.stringify(response.body)} ${challenge}`;
  }
  return passes(response.status);
}

/** The tables of docs/policy.md, read back into the shape of `policyTable`'s. */
function readPolicyMarkdown(text: string): Record<string, unknown[]> {
  const tables: Record<string, unknown[]> = {};
  let service: string | undefined;
  let clients: string[] = [];
  const unquote = (cell: string) => cell.replaceAll('`', '');
  for (const line of text.split('\n')) {
    const heading = /^## (\S+)$/.exec(line);
    if (heading) {
      service = heading[1];
      tables[service] = [];
      continue;
    }
    if (service === undefined || !line.startsWith('|')) continue;
    const [route, scopes, ...cells] = line
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim());
    if (route === 'route') clients = cells;
    else if (!/^-+$/.test(route)) {
      tables[service].push({
        route: unquote(route),
        scopes: scopes.split(', ').map(unquote),
        cells: Object.fromEntries(clients.map((client, index) => [client, cells[index]])),
      });
    }
  }
  return tables;
}

function readDocument(service: ServiceAudience): unknown {
  return JSON.parse(readFileSync(join(workspaceRoot(), 'docs', 'api', `${service}.json`), 'utf8'));
}

/**
 * Issue 13's "the policy table matches what the services enforce": the four built services as
 * processes (PGlite in a scratch DATA_DIR) in INTERNAL_AUTH_MODE=jwt, a generated secret for
 * every client of SERVICE_CLIENTS, and each cell of docs/policy.md proven at the service.
 * For each client and each service the client asks the token endpoint for a token with
 * `audience=<service>` (every scope it may have there); refused, every cell of that client at
 * that service must be `-`; granted, each internal route of the service is called with it: an
 * `allowed` cell passes the guard (the route's own answer to the probe), a `-` cell is refused
 * with 403 and `insufficient_scope`.
 *
 * The expected cells come from `policyTable` (libs/contracts), the code `npm run policy`
 * renders docs/policy.md with, over the committed docs/api and SERVICE_CLIENTS: reading the
 * same typed table the generator reads is simpler and stricter than parsing Markdown for it.
 * docs/policy.md is parsed once, only to check that it shows those very cells.
 */
describe('docs/policy.md, cell by cell, against the services in INTERNAL_AUTH_MODE=jwt', () => {
  const table = policyTable(
    Object.fromEntries(
      SERVICE_AUDIENCES.map((service) => [service, readDocument(service)]),
    ) as Record<ServiceAudience, unknown>,
  );
  const clients = generateClientSecrets(SERVICE_CLIENTS.map((client) => client.clientId));
  const dataDir = mkdtempSync(join(tmpdir(), 'policy-cells-e2e-'));
  let stack: ServiceStack;

  beforeAll(async () => {
    stack = await launchStack({
      env: {
        ...inheritedProcessEnvironment(),
        DATA_DIR: dataDir,
        INTERNAL_AUTH_MODE: 'jwt',
        // Every client's secret, as `npm start` writes them to .env: the backend calls with its own.
        ...clients.env,
      },
    });
  }, 180_000);

  afterAll(async () => {
    await stack?.stopAll();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** The token endpoint's answer to `clientId` asking for every scope it may have at `service`. */
  function askForToken(clientId: string, service: ServiceAudience): Promise<TestResponse> {
    return request(`${stack.process('auth-server').url}/oauth2/token`, {
      method: 'POST',
      headers: {
        Authorization: basicCredentials(clientId, clients.secrets[clientId] as string),
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', audience: service }).toString(),
    });
  }

  it('shows in docs/policy.md exactly the cells derived from docs/api and SERVICE_CLIENTS', () => {
    const markdown = readFileSync(join(workspaceRoot(), 'docs', 'policy.md'), 'utf8');
    expect(readPolicyMarkdown(markdown)).toEqual(table);
  });

  it.each(SERVICE_AUDIENCES)('probes every internal route of %s in docs/api', (service) => {
    const { paths } = readDocument(service) as {
      paths: Record<string, Record<string, { security?: Array<Record<string, unknown>> }>>;
    };
    // Internal: the shared token's scheme, or the scrape credential's (`/metrics`). Each must
    // declare scopes, so be in the table.
    const internal = Object.entries(paths).flatMap(([path, operations]) =>
      Object.entries(operations)
        .filter(([, operation]) =>
          operation.security?.some((s) => 'internal-token' in s || 'metrics-token' in s),
        )
        .map(([method]) => `${method.toUpperCase()} ${path}`),
    );
    const rows = table[service].map((row) => row.route);
    expect(rows.sort()).toEqual(internal.sort());
    expect(Object.keys(PROBES[service]).sort()).toEqual(rows.sort());
  });

  const pairs = SERVICE_CLIENTS.flatMap((client) =>
    SERVICE_AUDIENCES.map((service) => [client.clientId, service] as const),
  );
  it.each(pairs)('%s at %s: every cell as the table says', async (clientId, service) => {
    const rows = table[service];
    const answer = await askForToken(clientId, service);
    if (answer.status !== 200) {
      // No token: the client cannot call the service at all (`unauthorized_client` for a
      // client that may call nobody), so the table must allow it nothing there.
      expect({ status: answer.status, body: answer.body }).toEqual({
        status: 400,
        body: {
          error: expect.stringMatching(/^(invalid_target|unauthorized_client)$/),
          error_description: expect.any(String),
        },
      });
      expect(rows.filter((row) => row.cells[clientId] !== '-').map((row) => row.route)).toEqual([]);
      return;
    }
    const token = (answer.body as { access_token: string }).access_token;
    const url = stack.process(service).url;
    const expected: Record<string, string> = {};
    const enforced: Record<string, string> = {};
    for (const { route, cells } of rows) {
      const { path, passes: status, ...probe } = PROBES[service][route]();
      const response = await request(`${url}${path}`, {
        ...probe,
        headers: { ...probe.headers, Authorization: `Bearer ${token}` },
      });
      enforced[route] = verdict(response);
      expected[route] = cells[clientId] === 'allowed' ? passes(status) : REFUSED;
    }
    expect(enforced).toEqual(expected);
  });
});
