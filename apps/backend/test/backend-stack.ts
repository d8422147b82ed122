import { launchStack, type ServiceName, type ServiceStack } from '@zt/stack-launcher';
import type { InternalAuthMode } from '@zt/service-utils';
import type { ServiceAudience } from '@zt/contracts';
import {
  inheritedProcessEnvironment,
  registerUser,
  request,
  scratchDatabaseFor,
  StackCredentials,
  type TestBackend,
  type TestResponse,
  type TestUser,
  uniqueEmail,
} from '@zt/test-kit';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The backend's deadline on each internal call, in these suites. */
export const CLIENT_TIMEOUT_MS = 2000;
export const BACKEND_MAX_FILE_BYTES = 8192;
export const FS_MAX_USER_BYTES = 4096;
/** Room for two of the largest uploads, or four uploads that each fill a user's quota. */
export const BACKEND_UPLOAD_BUDGET_BYTES = 2 * BACKEND_MAX_FILE_BYTES;

/** One row of billing's ledger. */
export interface LedgerEntry {
  readonly transaction_id: string;
  readonly kind: 'opening' | 'deduct' | 'top_up';
  readonly amount: number;
  readonly balance_after: number;
  readonly reason: string | null;
}

/** How a suite's stack differs from the default one. */
export interface BackendStackOptions {
  /** `INTERNAL_AUTH_MODE` of every service (`E2E_INTERNAL_AUTH_MODE`, else `token`, when absent). */
  readonly mode?: InternalAuthMode;
  /** Further variables of single services (they win over the suite's own). */
  readonly serviceEnv?: Partial<Record<ServiceName, Record<string, string>>>;
}

/** What a request may carry. */
export interface CallOptions {
  readonly method?: string;
  readonly body?: string | Buffer;
  readonly headers?: Record<string, string>;
}

/**
 * The four built services as real processes (libs/stack-launcher), wired as in production:
 * billing and auth on PGlite in a scratch DATA_DIR, or on a scratch PostgreSQL database when
 * the suite runs on `postgres`; generated credentials in the mode `E2E_INTERNAL_AUTH_MODE`
 * names (`token` by default; `npm test` runs these suites in `token+jwt` too, where every call
 * between the services carries the caller's service token); the backend's limits small
 * enough to reach in a test. Every request of the suites goes over real HTTP to the backend,
 * as an end user would send it; the helpers below do what the user and an operator would.
 */
export class BackendStack {
  /** The stack's secrets, and the headers of a test's own internal calls. */
  readonly credentials: StackCredentials;
  /** Every user signed up here, so that no log may show one of their tokens. */
  private readonly users: TestUser[] = [];
  private started:
    { stack: ServiceStack; dataDir: string; dropDatabase: () => Promise<void> } | undefined;

  private constructor(
    private readonly database: TestBackend,
    private readonly options: BackendStackOptions,
  ) {
    this.credentials = new StackCredentials(options.mode);
  }

  /**
   * The stack of one suite on `database`: started in `beforeAll`, stopped in `afterAll` (call
   * it in the `describe` block).
   */
  static forSuite(database: TestBackend, options: BackendStackOptions = {}): BackendStack {
    const sut = new BackendStack(database, options);
    beforeAll(() => sut.start());
    afterAll(() => sut.stop());
    return sut;
  }

  private async start(): Promise<void> {
    const dataDir = mkdtempSync(join(tmpdir(), 'backend-e2e-'));
    const scratch = await scratchDatabaseFor(this.database);
    try {
      const stack = await launchStack({
        env: {
          ...inheritedProcessEnvironment(),
          ...this.credentials.environment(),
          DATA_DIR: dataDir,
          DATABASE_URL: scratch.url,
        },
        serviceEnv: {
          'auth-server': { ...this.options.serviceEnv?.['auth-server'] },
          'billing-server': { ...this.options.serviceEnv?.['billing-server'] },
          'filesystem-server': {
            FS_MAX_USER_BYTES: String(FS_MAX_USER_BYTES),
            ...this.options.serviceEnv?.['filesystem-server'],
          },
          backend: {
            BACKEND_MAX_FILE_BYTES: String(BACKEND_MAX_FILE_BYTES),
            BACKEND_UPLOAD_BUDGET_BYTES: String(BACKEND_UPLOAD_BUDGET_BYTES),
            INTERNAL_HTTP_TIMEOUT_MS: String(CLIENT_TIMEOUT_MS),
            CIRCUIT_BREAKER_RESET_MS: '300',
            CIRCUIT_BREAKER_VOLUME_THRESHOLD: '3',
            ...this.options.serviceEnv?.backend,
          },
        },
      });
      this.started = { stack, dataDir, dropDatabase: scratch.drop };
    } catch (error) {
      await scratch.drop();
      rmSync(dataDir, { recursive: true, force: true });
      throw error;
    }
  }

  private async stop(): Promise<void> {
    if (!this.started) return;
    await this.started.stack.stopAll();
    await this.started.dropDatabase();
    rmSync(this.started.dataDir, { recursive: true, force: true });
  }

  /** The services, as the launcher runs them. */
  get stack(): ServiceStack {
    if (!this.started) throw new Error('the stack is not started (BackendStack.forSuite)');
    return this.started.stack;
  }

  /** Where the services keep their data (`DATA_DIR`). */
  get dataDir(): string {
    if (!this.started) throw new Error('the stack is not started (BackendStack.forSuite)');
    return this.started.dataDir;
  }

  /** The backend's base URL. */
  get api(): string {
    return this.url('backend');
  }

  /** The shared token, whether or not the mode takes it. */
  get internalToken(): string {
    return this.credentials.internalToken;
  }

  /** The metrics scraper's client secret at the auth server: it may get service tokens. */
  get scraperSecret(): string {
    return this.credentials.clients.secrets['metrics-scraper'] as string;
  }

  /**
   * The internal credential of a call to `audience` as `clientId` (in `token` mode the shared
   * token, whoever the caller): `operator` for invites and ledgers, `backend` for what only
   * the backend may do (metrics: {@link scrapeHeaders}).
   */
  internal(clientId: string, audience: ServiceAudience): Promise<Record<string, string>> {
    return this.credentials.headers(this.url('auth-server'), clientId, audience);
  }

  /** The headers of a scrape of `GET /metrics` at `audience`, as Prometheus sends them. */
  scrapeHeaders(audience: ServiceAudience): Promise<Record<string, string>> {
    return this.credentials.scrapeHeaders(this.url('auth-server'), audience);
  }

  url(name: 'backend' | 'auth-server' | 'billing-server' | 'filesystem-server'): string {
    return this.stack.process(name).url;
  }

  /** A new user of `tier`, registered with an invite and logged in (`label` names its email). */
  async signUp(tier: 'free' | 'pro' | 'team', label: string = tier): Promise<TestUser> {
    const invites = await this.internal('operator', 'auth-server');
    const user = await registerUser(this.url('auth-server'), invites, {
      tier,
      email: uniqueEmail(label),
    });
    this.users.push(user);
    return user;
  }

  /** A request to the backend, with `user`'s access token when given. */
  call(user: TestUser | undefined, path: string, options: CallOptions = {}): Promise<TestResponse> {
    const headers: Record<string, string> = { ...options.headers };
    if (user) headers['Authorization'] = `Bearer ${user.accessToken}`;
    return request(`${this.api}${path}`, { ...options, headers });
  }

  put(
    user: TestUser,
    path: string,
    body: string | Buffer,
    headers: Record<string, string> = {},
  ): Promise<TestResponse> {
    return this.call(user, path, { method: 'PUT', body, headers });
  }

  /** A file's bytes as the backend serves them. */
  async download(user: TestUser, path: string, headers: Record<string, string> = {}) {
    const response = await fetch(`${this.api}${path}`, {
      headers: { Authorization: `Bearer ${user.accessToken}`, ...headers },
    });
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      bytes: Buffer.from(await response.arrayBuffer()),
    };
  }

  /** `user`'s ledger, newest first, as billing keeps it (internal credential). */
  async ledger(user: TestUser): Promise<LedgerEntry[]> {
    const response = await request(`${this.url('billing-server')}/ledger/${user.userId}`, {
      headers: await this.internal('operator', 'billing-server'),
    });
    expect(response.status).toBe(200);
    return (response.body as { entries: LedgerEntry[] }).entries;
  }

  /** `user`'s balance in billing, as the backend reads it. */
  async balance(user: TestUser): Promise<number> {
    const response = await request(`${this.url('billing-server')}/balance/${user.userId}`, {
      headers: await this.internal('backend', 'billing-server'),
    });
    expect(response.status).toBe(200);
    return (response.body as { balance: number }).balance;
  }

  /** Where the filesystem server keeps `user`'s file `path`. */
  onDisk(user: TestUser, path: string): string {
    return join(this.dataDir, 'filesystem-server', user.userId, ...path.split('/'));
  }

  /**
   * Asserts that no log line of any process shows a secret of the stack (the shared token, a
   * client secret) or a user's token.
   */
  expectNoSecretInLogs(): void {
    const logs = this.stack.services
      .flatMap((name) => this.stack.processes(name))
      .map((process) => process.output())
      .join('');
    for (const secret of this.credentials.secrets()) expect(logs).not.toContain(secret);
    for (const user of this.users) expect(logs).not.toContain(user.accessToken.split('.')[2]);
  }
}
