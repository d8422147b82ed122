import { InternalHttpClient, UpstreamUnavailableError } from '@zt/service-chassis';
import {
  builtServiceMain,
  generateToken,
  type ServiceProcess,
  startServiceProcess,
} from '@zt/test-kit';
import { mkdtempSync, rmSync } from 'node:fs';
import {
  createServer,
  type IncomingHttpHeaders,
  request as httpRequest,
  type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What billing answered to a request that the proxy kept from the client. */
interface Withheld {
  readonly status: number;
  readonly body: { transaction_id?: string; balance?: number };
}

/**
 * An HTTP hop between the client and billing that can lose an answer: it forwards the next
 * `POST /deduct` to billing, lets billing finish it, and then never passes billing's answer
 * on, so the client times out although the charge happened. Requests that arrive meanwhile
 * are forwarded only once that answer is in, so a retry meets a finished first request (the
 * situation of a lost answer, not of two requests in flight at once).
 */
interface LossyProxy {
  readonly url: string;
  /** Every request the client sent through the proxy: method, path and headers. */
  readonly seen: Array<{ method: string; path: string; headers: IncomingHttpHeaders }>;
  /** Makes the proxy lose billing's answer to the next `POST /deduct`. */
  loseNextDeductAnswer(): Promise<Withheld>;
  close(): Promise<void>;
}

async function startLossyProxy(upstream: string): Promise<LossyProxy> {
  const target = new URL(upstream);
  const seen: LossyProxy['seen'] = [];
  let loseNext: ((answer: Withheld) => void) | undefined;
  let inFlight: Promise<unknown> = Promise.resolve();

  const forward = (method: string, path: string, headers: IncomingHttpHeaders, body: Buffer) =>
    new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>(
      (resolve, reject) => {
        const outgoing = httpRequest(
          {
            host: target.hostname,
            port: target.port,
            method,
            path,
            headers: { ...headers, host: target.host, connection: 'close' },
          },
          (answer) => {
            const chunks: Buffer[] = [];
            answer.on('data', (chunk: Buffer) => chunks.push(chunk));
            answer.on('end', () =>
              resolve({
                status: answer.statusCode ?? 0,
                headers: answer.headers,
                body: Buffer.concat(chunks),
              }),
            );
          },
        );
        outgoing.on('error', reject);
        outgoing.end(body);
      },
    );

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const method = request.method ?? 'GET';
      const path = request.url ?? '/';
      seen.push({ method, path, headers: request.headers });
      const lose = method === 'POST' && path === '/deduct' ? loseNext : undefined;
      if (lose) loseNext = undefined;

      const previous = inFlight;
      const done = previous.then(async () => {
        const answer = await forward(method, path, request.headers, Buffer.concat(chunks));
        if (lose) {
          // Billing has answered and committed; the client never hears of it.
          lose({ status: answer.status, body: JSON.parse(answer.body.toString('utf8')) });
          return;
        }
        // Hop-by-hop headers stay on the hop they came on.
        const headers = { ...answer.headers };
        delete headers['transfer-encoding'];
        delete headers['connection'];
        response.writeHead(answer.status, headers);
        response.end(answer.body);
      });
      inFlight = done.catch(() => undefined);
      done.catch((error: unknown) => {
        response.writeHead(502);
        response.end(String(error));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    loseNextDeductAnswer: () => new Promise<Withheld>((resolve) => (loseNext = resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('InternalHttpClient retrying a deduct against the built billing-server', () => {
  const token = generateToken();
  let billing: ServiceProcess;
  let proxy: LossyProxy;
  let dataDir: string;
  let sut: InternalHttpClient;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'billing-client-retry-'));
    billing = await startServiceProcess({
      main: builtServiceMain('billing-server'),
      env: { INTERNAL_SERVICE_TOKEN: token, BILLING_SERVER_PORT: '0', DATA_DIR: dataDir },
    });
    proxy = await startLossyProxy(billing.url);
    sut = new InternalHttpClient({
      callerName: 'backend',
      upstreams: { billing: { baseUrl: proxy.url } },
      client: {
        timeoutMs: 2000,
        retries: 2,
        breakerResetMs: 5000,
        breakerErrorThresholdPercent: 50,
        breakerVolumeThreshold: 5,
      },
      internalAuth: { sendToken: token, acceptedTokens: [token] },
    });
  });

  afterAll(async () => {
    sut.onApplicationShutdown();
    await proxy.close();
    expect((await billing.stop()).graceful).toBe(true);
    rmSync(dataDir, { recursive: true, force: true });
  });

  const openAccount = async (userId: string) => {
    const created = await sut.request('billing', {
      method: 'POST',
      path: '/account',
      body: { user_id: userId, tier: 'pro' },
    });
    expect(created).toMatchObject({ status: 201, data: { user_id: userId, balance: 5 } });
  };
  const ledgerOf = async (userId: string) => {
    const ledger = await sut.request<{ entries: Array<{ kind: string; amount: number }> }>(
      'billing',
      { method: 'GET', path: `/ledger/${userId}?limit=100` },
    );
    expect(ledger.status).toBe(200);
    return ledger.data.entries;
  };
  const balanceOf = async (userId: string) =>
    (
      await sut.request<{ balance: number }>('billing', {
        method: 'GET',
        path: `/balance/${userId}`,
      })
    ).data.balance;
  const deductsSeen = () => proxy.seen.filter((r) => r.method === 'POST' && r.path === '/deduct');

  it('charges once when a deduct is retried after a timeout with the same Idempotency-Key', async () => {
    const user = 'retry-after-timeout';
    await openAccount(user);
    const lost = proxy.loseNextDeductAnswer();

    const answer = await sut.request<{ user_id: string; balance: number; transaction_id: string }>(
      'billing',
      {
        method: 'POST',
        path: '/deduct',
        body: { user_id: user, amount: '0.25', reason: 'file write' },
        headers: { 'Idempotency-Key': 'write-0001' },
      },
    );

    // Billing did charge the first attempt; its answer was lost on the way back.
    const first = await lost;
    expect(first.status).toBe(200);
    // The retry got billing's first answer replayed, not a second charge.
    expect(answer.status).toBe(200);
    expect(answer.headers['idempotent-replayed']).toBe('true');
    expect(answer.data).toEqual({
      user_id: user,
      balance: 4.75,
      transaction_id: first.body.transaction_id,
    });
    const sent = deductsSeen();
    expect(sent).toHaveLength(2);
    for (const attempt of sent) {
      expect(attempt.headers['idempotency-key']).toBe('write-0001');
      expect(attempt.headers['x-caller-service']).toBe('backend');
    }

    const entries = await ledgerOf(user);
    expect(entries.filter((entry) => entry.kind === 'deduct')).toEqual([
      expect.objectContaining({ kind: 'deduct', amount: -0.25 }),
    ]);
    expect(await balanceOf(user)).toBe(4.75);
    expect(entries.reduce((sum, entry) => sum + entry.amount, 0)).toBeCloseTo(4.75, 6);
  });

  it('sends a deduct without Idempotency-Key once, even when its answer is lost', async () => {
    const user = 'no-key-no-retry';
    await openAccount(user);
    const before = deductsSeen().length;
    const lost = proxy.loseNextDeductAnswer();

    let caught: unknown;
    try {
      await sut.request('billing', {
        method: 'POST',
        path: '/deduct',
        body: { user_id: user, amount: '0.25' },
      });
    } catch (error) {
      caught = error;
    }

    expect(caught).toBeInstanceOf(UpstreamUnavailableError);
    expect(caught).toMatchObject({ upstream: 'billing', reason: 'timeout' });
    expect((await lost).status).toBe(200);
    expect(deductsSeen().length - before).toBe(1);
    expect((await ledgerOf(user)).filter((entry) => entry.kind === 'deduct')).toHaveLength(1);
    expect(await balanceOf(user)).toBe(4.75);
  });
});
