import { defineEndpoint } from '@zt/contracts';
import { z } from 'zod';
import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { runWithRequestId } from '../logging/request-context';
import type { InternalAuthConfig } from '@zt/service-utils';
import type { InternalClientConfig } from '../config/internal-client.config';
import { InternalClientModule } from './internal-client.module';
import { createHttpAdapter, HTTP_ADAPTERS } from '../http/http-adapter';
import type { BreakerState, InternalClientOptions } from './internal-client.types';
import { InternalHttpClient } from './internal-http-client';
import { UnexpectedUpstreamAnswerError } from './unexpected-upstream-answer.error';
import { UpstreamUnavailableError } from './upstream-unavailable.error';

const TOKEN = 'q3V9sLk2Xw8RzT1mN6pB4yH7cJ0dF5gA';
const AUTH: InternalAuthConfig = { sendToken: TOKEN, acceptedTokens: [TOKEN] };
// A deadline no answer of the test servers comes near, even on a busy machine: the tests of
// the deadline itself give theirs (DEADLINE_MS).
const CONFIG: InternalClientConfig = {
  timeoutMs: 5_000,
  retries: 2,
  breakerResetMs: 400,
  breakerErrorThresholdPercent: 50,
  breakerVolumeThreshold: 3,
};

/** The deadline of the tests that wait for one to pass. */
const DEADLINE_MS = 300;

/** What the test server saw of one request. */
interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly body: Buffer;
}

/** A real HTTP server on a free port whose answers each test scripts. */
interface TestServer {
  readonly url: string;
  readonly port: number;
  readonly seen: Seen[];
  /** Every connection the server accepted, in order. */
  readonly sockets: Socket[];
  close(): Promise<void>;
}

type Handler = (request: Seen, response: ServerResponse, index: number) => void;

async function startServer(handler: Handler, port = 0): Promise<TestServer> {
  const seen: Seen[] = [];
  const sockets: Socket[] = [];
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const entry: Seen = {
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        rawHeaders: request.rawHeaders,
        body: Buffer.concat(chunks),
      };
      seen.push(entry);
      handler(entry, response, seen.length - 1);
    });
  });
  server.on('connection', (socket: Socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    seen,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

/** Never answers: the client's deadline has to end the call. */
const hang: Handler = () => undefined;

/** A port where nothing listens (taken from a server that was just closed). */
async function closedPort(): Promise<number> {
  const server = await startServer(hang);
  await server.close();
  return server.port;
}

async function failure(call: Promise<unknown>): Promise<UpstreamUnavailableError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof UpstreamUnavailableError) return error;
    throw error;
  }
  throw new Error('expected an UpstreamUnavailableError');
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(10);
}

describe(InternalHttpClient.name, () => {
  const servers: TestServer[] = [];
  const clients: InternalHttpClient[] = [];
  let logged: unknown[][];

  const serve = async (handler: Handler, port?: number) => {
    const server = await startServer(handler, port);
    servers.push(server);
    return server;
  };
  const clientFor = (
    upstreams: InternalClientOptions['upstreams'],
    client: Partial<InternalClientConfig> = {},
  ) => {
    const sut = new InternalHttpClient({
      callerName: 'backend',
      upstreams,
      client: { ...CONFIG, ...client },
      internalAuth: AUTH,
    });
    clients.push(sut);
    return sut;
  };
  const stateLog = () =>
    logged
      .map(([entry]) => entry as { event?: string; upstream?: string; state?: BreakerState })
      .filter((entry) => entry?.event === 'circuit_breaker_state');

  beforeEach(() => {
    logged = [];
    for (const level of ['log', 'warn', 'error', 'debug', 'verbose'] as const) {
      jest.spyOn(Logger.prototype, level).mockImplementation((...args: unknown[]) => {
        logged.push(args);
      });
    }
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    // Whatever was logged, the credential never was.
    expect(JSON.stringify(logged)).not.toContain(TOKEN);
    for (const sut of clients.splice(0)) sut.onApplicationShutdown();
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  describe('what goes on the wire', () => {
    it('adds the credential and X-Caller-Service, and forwards only the allowed headers', async () => {
      const server = await serve((_request, response) => json(response, 200, { ok: true }));
      const sut = clientFor({ billing: { baseUrl: server.url } });

      const answer = await sut.request('billing', {
        method: 'GET',
        path: '/balance/u1',
        headers: {
          'X-User-ID': 'u1',
          'X-Request-ID': 'req-1',
          // What a careless call site might spread in from the incoming request:
          ...({
            'X-INTERNAL-TOKEN': 'a-token-a-client-sent-to-the-public-api',
            'x-internal-token': 'another-one',
            'X-Caller-Service': 'auth-server',
            Authorization: 'Bearer client-jwt',
            Cookie: 'session=1',
          } as object),
        },
      });

      expect(answer).toMatchObject({ status: 200, data: { ok: true } });
      const [request] = server.seen;
      const names = request.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
      expect(names.filter((name) => name === 'x-internal-token')).toHaveLength(1);
      expect(request.headers['x-internal-token']).toBe(TOKEN);
      expect(names.filter((name) => name === 'x-caller-service')).toHaveLength(1);
      expect(request.headers['x-caller-service']).toBe('backend');
      expect(request.headers['x-user-id']).toBe('u1');
      expect(request.headers['x-request-id']).toBe('req-1');
      expect(request.headers['authorization']).toBeUndefined();
      expect(request.headers['cookie']).toBeUndefined();
    });

    it('sends the id of the request being served as X-Request-ID, unless the call sets one', async () => {
      const server = await serve((_request, response) => json(response, 200, {}));
      const sut = clientFor({ billing: { baseUrl: server.url } });

      await sut.request('billing', { method: 'GET', path: '/outside' });
      await runWithRequestId('req-1', async () => {
        await sut.request('billing', { method: 'GET', path: '/inside' });
        // Still the request's id after an await, and in calls made in parallel.
        await Promise.all([
          sut.request('billing', { method: 'GET', path: '/parallel' }),
          sut.request('billing', {
            method: 'GET',
            path: '/explicit',
            headers: { 'X-Request-ID': 'chosen-id' },
          }),
        ]);
      });

      const idOf = (path: string) =>
        server.seen.find((seen) => seen.url === path)?.headers['x-request-id'];
      expect(idOf('/outside')).toBeUndefined();
      expect(idOf('/inside')).toBe('req-1');
      expect(idOf('/parallel')).toBe('req-1');
      expect(idOf('/explicit')).toBe('chosen-id');
      expect(sut.upstreamNames()).toEqual(['billing']);
    });

    it('sends a JSON body as JSON and parses a JSON answer', async () => {
      const server = await serve((request, response) =>
        json(response, 201, { echoed: JSON.parse(request.body.toString('utf8')) as unknown }),
      );
      const sut = clientFor({ billing: { baseUrl: server.url } });

      const answer = await sut.request<{ echoed: unknown }>('billing', {
        method: 'POST',
        path: '/account',
        body: { user_id: 'u1', tier: 'pro' },
      });

      expect(answer.status).toBe(201);
      expect(answer.data).toEqual({ echoed: { user_id: 'u1', tier: 'pro' } });
      expect(answer.headers['content-type']).toBe('application/json');
      expect(server.seen[0].headers['content-type']).toBe('application/json');
    });

    it('sends and receives raw bytes unchanged', async () => {
      const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 10, 13, 0x7f]);
      const stored = new Map<string, Buffer>();
      const server = await serve((request, response) => {
        if (request.method === 'PUT') {
          stored.set(request.url, request.body);
          json(response, 201, { path: request.url, size: request.body.length });
        } else {
          response.writeHead(200, { 'content-type': 'application/octet-stream' });
          response.end(stored.get(request.url));
        }
      });
      const sut = clientFor({ fs: { baseUrl: server.url } });

      const put = await sut.request('fs', {
        method: 'PUT',
        path: '/files/a%20b/c.bin',
        body: bytes,
        headers: { 'X-User-ID': 'u1' },
      });
      const get = await sut.request('fs', {
        method: 'GET',
        path: '/files/a%20b/c.bin',
        responseType: 'buffer',
      });

      expect(put.data).toEqual({ path: '/files/a%20b/c.bin', size: bytes.length });
      expect(server.seen[0].headers['content-type']).toBe('application/octet-stream');
      expect(server.seen[0].body.equals(bytes)).toBe(true);
      expect(Buffer.isBuffer(get.data)).toBe(true);
      expect(get.data.equals(bytes)).toBe(true);
    });

    it('sends a body with its Content-Length, whatever the method, and an empty one as 0', async () => {
      const server = await serve((_request, response) => json(response, 200, {}));
      const sut = clientFor({ billing: { baseUrl: server.url } });

      await sut.request('billing', { method: 'DELETE', path: '/a', body: { why: 'é' } });
      await sut.request('billing', { method: 'POST', path: '/b' });
      await sut.request('billing', { method: 'GET', path: '/c' });

      const [remove, post, get] = server.seen;
      expect(remove.headers['content-length']).toBe(String(Buffer.byteLength('{"why":"é"}')));
      expect(remove.headers['transfer-encoding']).toBeUndefined();
      expect(JSON.parse(remove.body.toString('utf8'))).toEqual({ why: 'é' });
      expect(post.headers['content-length']).toBe('0');
      expect(post.headers['content-type']).toBeUndefined();
      expect(get.headers['content-length']).toBeUndefined();
      expect(get.body).toHaveLength(0);
    });

    it('keeps the connection alive between calls', async () => {
      const server = await serve((_request, response) => json(response, 200, {}));
      const sut = clientFor({ billing: { baseUrl: server.url } });

      for (let i = 0; i < 3; i += 1) await sut.request('billing', { method: 'GET', path: '/x' });

      expect(server.seen).toHaveLength(3);
      expect(server.sockets).toHaveLength(1);
    });

    it('returns a redirect as an answer and does not follow it to another host', async () => {
      const elsewhere = await serve((_request, response) => json(response, 200, {}));
      const server = await serve((_request, response) => {
        response.writeHead(302, { location: `${elsewhere.url}/steal` });
        response.end();
      });
      const sut = clientFor({ billing: { baseUrl: server.url } });

      const answer = await sut.request('billing', { method: 'GET', path: '/x' });

      expect(answer.status).toBe(302);
      expect(elsewhere.seen).toHaveLength(0);
    });

    it('ignores HTTP_PROXY: the credential goes straight to the upstream', async () => {
      const proxy = await serve((_request, response) => json(response, 200, { via: 'proxy' }));
      const server = await serve((_request, response) => json(response, 200, { via: 'direct' }));
      const saved = { upper: process.env['HTTP_PROXY'], lower: process.env['http_proxy'] };
      process.env['HTTP_PROXY'] = proxy.url;
      process.env['http_proxy'] = proxy.url;
      try {
        const sut = clientFor({ billing: { baseUrl: server.url } });
        const answer = await sut.request('billing', { method: 'GET', path: '/x' });
        expect(answer.data).toEqual({ via: 'direct' });
        expect(proxy.seen).toHaveLength(0);
      } finally {
        for (const [name, value] of [
          ['HTTP_PROXY', saved.upper],
          ['http_proxy', saved.lower],
        ] as const) {
          if (value === undefined) delete process.env[name];
          else process.env[name] = value;
        }
      }
    });

    it.each([
      ['a protocol-relative path', '//evil.example/x'],
      ['an absolute URL', 'http://127.0.0.1:1/x'],
      ['a path without a leading slash', 'balance/u1'],
      ['a .. segment', '/files/../account'],
      ['an encoded .. segment', '/files/%2e%2E/account'],
      ['a . segment', '/files/./a'],
      ['white space', '/files/a b'],
      ['a backslash', '/files/..\\account'],
      ['a fragment', '/x#y'],
      ['an unencoded non-ASCII character', '/files/\u00e9t\u00e9'],
    ])('refuses %s before sending anything', async (_label, path) => {
      const server = await serve((_request, response) => json(response, 200, {}));
      const sut = clientFor({ billing: { baseUrl: server.url } });

      await expect(sut.request('billing', { method: 'GET', path })).rejects.toThrow(TypeError);
      expect(server.seen).toHaveLength(0);
      expect(sut.breakerState('billing')).toBe('closed');
    });

    it('refuses a header value that could end the header line', async () => {
      const server = await serve((_request, response) => json(response, 200, {}));
      const sut = clientFor({ billing: { baseUrl: server.url } });

      await expect(
        sut.request('billing', {
          method: 'GET',
          path: '/x',
          headers: { 'X-User-ID': 'u1\r\nX-INTERNAL-TOKEN: forged' },
        }),
      ).rejects.toThrow(TypeError);
      expect(server.seen).toHaveLength(0);
    });

    it('refuses an unknown upstream, a bad caller name and a base URL with credentials', () => {
      const sut = clientFor({ billing: { baseUrl: 'http://127.0.0.1:1' } });
      expect(() => sut.breakerState('nope')).toThrow(TypeError);
      expect(
        () =>
          new InternalHttpClient({
            callerName: 'Backend Server',
            upstreams: {},
            client: CONFIG,
            internalAuth: AUTH,
          }),
      ).toThrow(TypeError);
      expect(
        () =>
          new InternalHttpClient({
            callerName: 'backend',
            upstreams: { billing: { baseUrl: 'http://user:pw@127.0.0.1:1' } },
            client: CONFIG,
            internalAuth: AUTH,
          }),
      ).toThrow(TypeError);
    });
  });

  describe('answers and failures', () => {
    it('returns 4xx answers as data, and they never open the breaker', async () => {
      const statuses = [402, 404, 409, 400, 422, 403];
      const server = await serve((_request, response, index) =>
        json(response, statuses[index % statuses.length], { error: 'no' }),
      );
      const sut = clientFor({ billing: { baseUrl: server.url } });

      for (const status of [...statuses, ...statuses]) {
        const answer = await sut.request('billing', { method: 'POST', path: '/deduct', body: {} });
        expect(answer).toMatchObject({ status, data: { error: 'no' } });
      }

      expect(server.seen).toHaveLength(12);
      expect(sut.breakerState('billing')).toBe('closed');
      expect(stateLog()).toEqual([]);
    });

    it('returns a non-JSON answer as text and an empty one as undefined', async () => {
      const server = await serve((_request, response, index) => {
        if (index === 0) {
          response.writeHead(404, { 'content-type': 'text/plain' });
          response.end('not here');
        } else {
          response.writeHead(204);
          response.end();
        }
      });
      const sut = clientFor({ fs: { baseUrl: server.url } });

      expect((await sut.request('fs', { method: 'GET', path: '/a' })).data).toBe('not here');
      const deleted = await sut.request('fs', { method: 'DELETE', path: '/a' });
      expect(deleted).toMatchObject({ status: 204, data: undefined });
    });

    it('parses every JSON media type, whatever its parameters, and only those', async () => {
      const types = ['application/problem+json; charset=utf-8', 'APPLICATION/JSON', 'text/plain'];
      const server = await serve((_request, response, index) => {
        response.writeHead(400, { 'content-type': types[index] });
        response.end('{"error":"no"}');
      });
      const sut = clientFor({ billing: { baseUrl: server.url } });
      const data = async () => (await sut.request('billing', { method: 'GET', path: '/x' })).data;

      expect(await data()).toEqual({ error: 'no' });
      expect(await data()).toEqual({ error: 'no' });
      expect(await data()).toBe('{"error":"no"}');
    });

    it('returns the headers of an answer in lower case, repeated ones joined', async () => {
      const server = await serve((_request, response) => {
        response.setHeader('Set-Cookie', ['a=1', 'b=2']);
        response.setHeader('X-Upstream', 'billing');
        json(response, 200, {});
      });
      const sut = clientFor({ billing: { baseUrl: server.url } });

      const { headers } = await sut.request('billing', { method: 'GET', path: '/x' });

      expect(headers).toMatchObject({
        'set-cookie': 'a=1, b=2',
        'x-upstream': 'billing',
        'content-type': 'application/json',
      });
    });

    it('reports a 5xx as server_error with its status', async () => {
      const server = await serve((_request, response) => json(response, 500, { error: 'boom' }));
      const sut = clientFor({ billing: { baseUrl: server.url } });

      const error = await failure(sut.request('billing', { method: 'GET', path: '/x' }));

      expect(error).toMatchObject({
        code: 'ERR_UPSTREAM_UNAVAILABLE',
        upstream: 'billing',
        reason: 'server_error',
        status: 500,
      });
      expect(error.message).toBe('billing unavailable: server_error (500)');
      // A 500 is not one of the statuses worth another try.
      expect(server.seen).toHaveLength(1);
    });

    it('reports JSON that does not parse as invalid_response', async () => {
      const server = await serve((_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end('{"balance": 5');
      });
      const sut = clientFor({ billing: { baseUrl: server.url } });

      const error = await failure(sut.request('billing', { method: 'GET', path: '/x' }));
      expect(error.reason).toBe('invalid_response');
      expect(server.seen).toHaveLength(1);
    });

    it('refuses an answer larger than maxResponseBytes', async () => {
      const server = await serve((_request, response) => {
        response.writeHead(200, { 'content-type': 'application/octet-stream' });
        response.end(Buffer.alloc(4096, 1));
      });
      const sut = clientFor({ fs: { baseUrl: server.url, maxResponseBytes: 1024 } });

      const error = await failure(
        sut.request('fs', { method: 'GET', path: '/big', responseType: 'buffer' }),
      );
      expect(error.reason).toBe('invalid_response');
    });

    it('refuses an answer whose declared length is over maxResponseBytes without reading it, and closes the connection', async () => {
      const server = await serve((_request, response) => {
        response.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': String(1024 * 1024),
        });
        // Only the first bytes, then nothing: just reading would end in a timeout.
        response.write(Buffer.alloc(10));
      });
      const sut = clientFor({ fs: { baseUrl: server.url, maxResponseBytes: 1024 } });

      const error = await failure(
        sut.request('fs', { method: 'GET', path: '/big', responseType: 'buffer' }),
      );

      expect(error.reason).toBe('invalid_response');
      // Refused answers do not count as retryable: one request.
      expect(server.seen).toHaveLength(1);
      await until(() => server.sockets[0].destroyed);
    });

    it('stops reading an answer without a declared length once it passes maxResponseBytes', async () => {
      const server = await serve((_request, response) => {
        response.writeHead(200, { 'content-type': 'application/octet-stream' });
        const stream = setInterval(() => response.write(Buffer.alloc(512, 1)), 5);
        response.on('close', () => clearInterval(stream));
      });
      const sut = clientFor({ fs: { baseUrl: server.url, maxResponseBytes: 1024 } });

      const error = await failure(
        sut.request('fs', { method: 'GET', path: '/endless', responseType: 'buffer' }),
      );

      // Well before the deadline, which would have made it a timeout.
      expect(error.reason).toBe('invalid_response');
      await until(() => server.sockets[0].destroyed);
    });

    it('accepts an answer of exactly maxResponseBytes, and a HEAD that declares more', async () => {
      const server = await serve((request, response) => {
        if (request.method === 'HEAD') {
          response.writeHead(200, { 'content-length': String(1024 * 1024) });
          response.end();
        } else {
          response.writeHead(200, { 'content-type': 'application/octet-stream' });
          response.end(Buffer.alloc(1024, 7));
        }
      });
      const sut = clientFor({ fs: { baseUrl: server.url, maxResponseBytes: 1024 } });

      const get = await sut.request('fs', { method: 'GET', path: '/f', responseType: 'buffer' });
      const head = await sut.request('fs', { method: 'HEAD', path: '/f' });

      expect(get.data.equals(Buffer.alloc(1024, 7))).toBe(true);
      expect(head).toMatchObject({ status: 200, data: undefined });
      expect(head.headers['content-length']).toBe(String(1024 * 1024));
    });

    it('reports a connection lost in the middle of an answer as network', async () => {
      const server = await serve((_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        response.write('{"balance":');
        setTimeout(() => response.socket?.destroy(), 20);
      });
      const sut = clientFor({ billing: { baseUrl: server.url } });

      const error = await failure(sut.request('billing', { method: 'POST', path: '/x', body: {} }));

      expect(error.reason).toBe('network');
      expect(server.seen).toHaveLength(1);
    });

    it('ends an answer that trickles in past the deadline (timeout bounds the whole call)', async () => {
      const server = await serve((_request, response) => {
        response.writeHead(200, { 'content-type': 'application/octet-stream' });
        const drip = setInterval(() => response.write('x'), 50);
        response.on('close', () => clearInterval(drip));
      });
      const sut = clientFor({ fs: { baseUrl: server.url } }, { timeoutMs: DEADLINE_MS });

      const error = await failure(
        sut.request('fs', { method: 'POST', path: '/slow', responseType: 'buffer' }),
      );
      expect(error.reason).toBe('timeout');
      expect(server.seen).toHaveLength(1);
    });

    it('closes the connection of a call that timed out mid-answer, and the next call gets a new one', async () => {
      const server = await serve((_request, response, index) => {
        if (index > 0) return json(response, 200, { ok: true });
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write('{"ok":');
      });
      // Long enough for the second, whole answer on a busy machine.
      const sut = clientFor({ billing: { baseUrl: server.url } }, { timeoutMs: 1_000 });
      const call = () => sut.request('billing', { method: 'POST', path: '/x', body: {} });

      expect((await failure(call())).reason).toBe('timeout');
      await until(() => server.sockets[0].destroyed);
      const answer = await call();

      expect(answer).toMatchObject({ status: 200, data: { ok: true }, attempts: 1 });
      expect(server.sockets).toHaveLength(2);
    });
  });

  describe('circuit breaker', () => {
    it.each([
      [
        '5xx answers',
        'server_error',
        (_: Seen, response: ServerResponse) => json(response, 503, {}),
      ],
      ['timeouts', 'timeout', hang],
    ] as const)(
      'opens after %s and then fails at once without touching the network',
      async (_label, reason, handler) => {
        const server = await serve(handler);
        const timeoutMs = reason === 'timeout' ? DEADLINE_MS : CONFIG.timeoutMs;
        const sut = clientFor({ billing: { baseUrl: server.url } }, { timeoutMs });
        // POST without Idempotency-Key: one request per call, so the counts are exact.
        const call = () => sut.request('billing', { method: 'POST', path: '/deduct', body: {} });

        for (let i = 0; i < CONFIG.breakerVolumeThreshold; i += 1) {
          expect((await failure(call())).reason).toBe(reason);
        }
        expect(sut.breakerState('billing')).toBe('open');
        expect(server.seen).toHaveLength(CONFIG.breakerVolumeThreshold);

        for (let i = 0; i < 5; i += 1) {
          const error = await failure(call());
          expect(error).toMatchObject({ upstream: 'billing', reason: 'breaker_open' });
        }
        expect(server.seen).toHaveLength(CONFIG.breakerVolumeThreshold);
        expect(stateLog()).toEqual([
          { event: 'circuit_breaker_state', upstream: 'billing', state: 'open' },
        ]);
      },
    );

    it('opens when the connection is refused, half-opens, and closes when the upstream is back', async () => {
      const port = await closedPort();
      const sut = clientFor(
        { billing: { baseUrl: `http://127.0.0.1:${port}` } },
        { breakerResetMs: 1000 },
      );
      const call = () =>
        sut.request('billing', { method: 'GET', path: '/stats/subscription_count' });

      // One GET (tried three times: two retries) makes the three failures that open it.
      expect((await failure(call())).reason).toBe('network');
      expect(sut.breakerState('billing')).toBe('open');

      // The upstream comes back while the breaker is open: it sees nothing yet.
      const server = await serve(
        (_request, response) => json(response, 200, { subscription_count: 1 }),
        port,
      );
      expect((await failure(call())).reason).toBe('breaker_open');
      expect(server.seen).toHaveLength(0);

      await until(() => sut.breakerState('billing') === 'half_open');
      const answer = await call();

      expect(answer).toMatchObject({ status: 200, data: { subscription_count: 1 } });
      expect(sut.breakerState('billing')).toBe('closed');
      expect(server.seen).toHaveLength(1);
      expect(stateLog().map((entry) => entry.state)).toEqual(['open', 'half_open', 'closed']);
    });

    it('lets exactly one trial call through while half-open, and reopens when it fails', async () => {
      let healthy = false;
      const server = await serve((_request, response) => {
        if (healthy) setTimeout(() => json(response, 200, { ok: true }), 50);
        else json(response, 500, {});
      });
      const sut = clientFor({ billing: { baseUrl: server.url } });
      const call = () => sut.request('billing', { method: 'POST', path: '/top_up', body: {} });

      for (let i = 0; i < CONFIG.breakerVolumeThreshold; i += 1) await failure(call());
      expect(sut.breakerState('billing')).toBe('open');

      // The trial fails: open again, and the server saw only the trial.
      await until(() => sut.breakerState('billing') === 'half_open');
      expect((await failure(call())).reason).toBe('server_error');
      expect(sut.breakerState('billing')).toBe('open');
      expect(server.seen).toHaveLength(CONFIG.breakerVolumeThreshold + 1);

      // Next time the trial succeeds; a call made while it runs is refused at once.
      healthy = true;
      await until(() => sut.breakerState('billing') === 'half_open');
      const trial = sut.request('billing', { method: 'POST', path: '/top_up', body: {} });
      const concurrent = await failure(call());
      expect(concurrent.reason).toBe('breaker_open');
      expect((await trial).status).toBe(200);
      expect(sut.breakerState('billing')).toBe('closed');
      expect(server.seen).toHaveLength(CONFIG.breakerVolumeThreshold + 2);
      expect(stateLog().map((entry) => entry.state)).toEqual([
        'open',
        'half_open',
        'open',
        'half_open',
        'closed',
      ]);
    });

    it('keeps one breaker per upstream', async () => {
      const broken = await serve((_request, response) => json(response, 500, {}));
      const fine = await serve((_request, response) => json(response, 200, { ok: true }));
      const sut = clientFor({ billing: { baseUrl: broken.url }, fs: { baseUrl: fine.url } });

      for (let i = 0; i < CONFIG.breakerVolumeThreshold; i += 1) {
        await failure(sut.request('billing', { method: 'GET', path: '/x' }));
      }

      expect(sut.breakerState('billing')).toBe('open');
      expect(sut.breakerState('fs')).toBe('closed');
      expect((await sut.request('fs', { method: 'GET', path: '/files' })).status).toBe(200);
    });
  });

  describe('without a breaker (breaker: false, for measurement and tests)', () => {
    it('keeps calling through failures that would open a breaker, and logs no state change', async () => {
      const server = await serve((_request, response) => json(response, 503, {}));
      const sut = clientFor({ billing: { baseUrl: server.url, breaker: false } });
      const call = () => sut.request('billing', { method: 'POST', path: '/deduct', body: {} });

      const calls = CONFIG.breakerVolumeThreshold * 3;
      for (let i = 0; i < calls; i += 1) {
        expect((await failure(call())).reason).toBe('server_error');
      }

      expect(server.seen).toHaveLength(calls);
      expect(sut.breakerState('billing')).toBe('closed');
      expect(stateLog()).toEqual([]);
    });

    it('still retries and still gives every attempt its deadline', async () => {
      const failing = await serve((_request, response) => json(response, 503, {}));
      const hanging = await serve(hang);
      const options = { retries: 2, breakerVolumeThreshold: 1 };
      const answering = clientFor({ billing: { baseUrl: failing.url, breaker: false } }, options);
      const waiting = clientFor(
        { fs: { baseUrl: hanging.url, breaker: false } },
        { ...options, timeoutMs: 100 },
      );

      const error = await failure(answering.request('billing', { method: 'GET', path: '/x' }));
      expect(error).toMatchObject({ reason: 'server_error', status: 503 });
      expect(failing.seen).toHaveLength(3);

      const started = Date.now();
      expect((await failure(waiting.request('fs', { method: 'GET', path: '/files' }))).reason).toBe(
        'timeout',
      );
      expect(hanging.seen).toHaveLength(3);
      expect(Date.now() - started).toBeLessThan(3000);
    });

    it('leaves the breaker on by default, and on every other upstream', async () => {
      const broken = await serve((_request, response) => json(response, 500, {}));
      const sut = clientFor({
        guarded: { baseUrl: broken.url },
        explicit: { baseUrl: broken.url, breaker: true },
        bare: { baseUrl: broken.url, breaker: false },
      });
      const call = (upstream: string) =>
        failure(sut.request(upstream, { method: 'POST', path: '/x', body: {} }));

      for (let i = 0; i < CONFIG.breakerVolumeThreshold; i += 1) {
        await call('guarded');
        await call('explicit');
        await call('bare');
      }

      expect(sut.breakerState('guarded')).toBe('open');
      expect(sut.breakerState('explicit')).toBe('open');
      expect(sut.breakerState('bare')).toBe('closed');
      expect((await call('guarded')).reason).toBe('breaker_open');
      expect((await call('bare')).reason).toBe('server_error');
      expect(broken.seen).toHaveLength(3 * CONFIG.breakerVolumeThreshold + 1);
    });

    it('refuses calls after shutdown without touching the network', async () => {
      const server = await serve((_request, response) => json(response, 200, { ok: true }));
      const sut = clientFor({ billing: { baseUrl: server.url, breaker: false } });
      expect((await sut.request('billing', { method: 'GET', path: '/x' })).status).toBe(200);

      sut.onApplicationShutdown();

      expect((await failure(sut.request('billing', { method: 'GET', path: '/x' }))).reason).toBe(
        'shutdown',
      );
      expect(server.seen).toHaveLength(1);
    });
  });

  describe('retries', () => {
    it('sends a POST without Idempotency-Key exactly once, even when it times out', async () => {
      const server = await serve(hang);
      const sut = clientFor(
        { billing: { baseUrl: server.url } },
        { breakerVolumeThreshold: 100, timeoutMs: DEADLINE_MS },
      );

      const error = await failure(
        sut.request('billing', { method: 'POST', path: '/deduct', body: { amount: 1 } }),
      );

      expect(error.reason).toBe('timeout');
      expect(server.seen).toHaveLength(1);
    });

    it('sends a POST without Idempotency-Key once after a 503 or a lost connection', async () => {
      const server = await serve((_request, response, index) => {
        if (index === 0) json(response, 503, {});
        else response.socket?.destroy();
      });
      const sut = clientFor({ billing: { baseUrl: server.url } }, { breakerVolumeThreshold: 100 });
      const call = () => sut.request('billing', { method: 'POST', path: '/top_up', body: {} });

      expect((await failure(call())).reason).toBe('server_error');
      expect((await failure(call())).reason).toBe('network');
      expect(server.seen).toHaveLength(2);
    });

    it('retries a POST that carries an Idempotency-Key, with the same key and body', async () => {
      const server = await serve((_request, response, index) => {
        if (index === 0) return; // the first attempt times out
        json(response, 200, { transaction_id: 't1' });
      });
      // Long enough for the second attempt's answer on a busy machine.
      const sut = clientFor({ billing: { baseUrl: server.url } }, { timeoutMs: 1_000 });

      const answer = await sut.request('billing', {
        method: 'POST',
        path: '/deduct',
        body: { user_id: 'u1', amount: '0.01' },
        headers: { 'Idempotency-Key': 'write-42' },
      });

      expect(answer).toMatchObject({ status: 200, data: { transaction_id: 't1' } });
      expect(server.seen).toHaveLength(2);
      for (const request of server.seen) {
        expect(request.headers['idempotency-key']).toBe('write-42');
        expect(JSON.parse(request.body.toString('utf8'))).toEqual({
          user_id: 'u1',
          amount: '0.01',
        });
      }
    });

    it('retries a GET after a 503 and returns the answer that follows', async () => {
      const server = await serve((_request, response, index) =>
        index === 0 ? json(response, 503, {}) : json(response, 200, { balance: 5 }),
      );
      const sut = clientFor({ billing: { baseUrl: server.url } });

      const answer = await sut.request('billing', { method: 'GET', path: '/balance/u1' });

      expect(answer).toMatchObject({ status: 200, data: { balance: 5 }, attempts: 2 });
      expect(server.seen).toHaveLength(2);
      expect(sut.breakerState('billing')).toBe('closed');
    });

    it('retries at most INTERNAL_HTTP_RETRIES times', async () => {
      const server = await serve((_request, response) => json(response, 502, {}));
      const sut = clientFor(
        { billing: { baseUrl: server.url } },
        { retries: 3, breakerVolumeThreshold: 100 },
      );

      const error = await failure(sut.request('billing', { method: 'PUT', path: '/x', body: {} }));

      expect(error).toMatchObject({ reason: 'server_error', status: 502 });
      expect(server.seen).toHaveLength(4);
    });

    it('does not retry a 4xx, nor a 500', async () => {
      const server = await serve((_request, response, index) =>
        json(response, index === 0 ? 409 : 500, {}),
      );
      const sut = clientFor({ billing: { baseUrl: server.url } }, { breakerVolumeThreshold: 100 });

      expect((await sut.request('billing', { method: 'GET', path: '/x' })).status).toBe(409);
      expect((await failure(sut.request('billing', { method: 'GET', path: '/x' }))).status).toBe(
        500,
      );
      expect(server.seen).toHaveLength(2);
    });

    it('stops retrying as soon as the breaker opens', async () => {
      const server = await serve((_request, response) => json(response, 503, {}));
      const sut = clientFor(
        { billing: { baseUrl: server.url } },
        { retries: 5, breakerVolumeThreshold: 2 },
      );

      const error = await failure(sut.request('billing', { method: 'GET', path: '/x' }));

      expect(error.reason).toBe('server_error');
      expect(sut.breakerState('billing')).toBe('open');
      expect(server.seen).toHaveLength(2);
    });
  });

  describe('calls by contract', () => {
    // A small contract of its own, so this suite does not depend on a service's routes.
    const getItem = defineEndpoint({
      method: 'GET',
      path: '/items/:item_id/parts/*rest',
      summary: 'probe',
      answers: [
        { status: 200, kind: 'ok', body: z.object({ id: z.string() }), description: 'found' },
        {
          status: 404,
          kind: 'not_found',
          body: z.object({ error: z.literal('no item') }),
          description: 'none',
        },
      ],
    });
    const getBytes = defineEndpoint({
      method: 'GET',
      path: '/bytes',
      summary: 'probe',
      answerType: 'bytes',
      answers: [
        { status: 200, kind: 'ok', body: z.instanceof(Buffer), description: 'the bytes' },
        { status: 404, kind: 'not_found', body: z.object({ error: z.string() }), description: '' },
      ],
    });

    it('fills the route, sends the query and reads the answer into its outcome', async () => {
      const server = await serve((request, response) =>
        request.url.startsWith('/items/a%2Fb%20c/parts/x/y%20z?')
          ? json(response, 200, { id: 'a/b c', extra: 'ignored' })
          : json(response, 404, { error: 'no item' }),
      );
      const sut = clientFor({ billing: { baseUrl: server.url } });

      const found = await sut.call('billing', getItem, {
        params: { item_id: 'a/b c', rest: 'x/y%20z' },
        query: { q: 'ä&', skipped: undefined },
      });
      expect(found).toMatchObject({ kind: 'ok', status: 200, body: { id: 'a/b c' } });
      expect(server.seen[0].url).toBe('/items/a%2Fb%20c/parts/x/y%20z?q=%C3%A4%26');

      const missing = await sut.call('billing', getItem, { params: { item_id: 'n', rest: 'r' } });
      expect(missing).toMatchObject({ kind: 'not_found', status: 404, body: { error: 'no item' } });
    });

    it.each([
      ['an undeclared status', 403, { error: 'Forbidden' }],
      ['a body of the wrong shape', 200, { id: 7 }],
      ['a declared status with another message', 404, { error: 'something else' }],
    ])('refuses %s as UnexpectedUpstreamAnswerError, never guessing', async (_l, status, body) => {
      const server = await serve((_request, response) => json(response, status, body));
      const sut = clientFor({ billing: { baseUrl: server.url } });

      const error = await sut
        .call('billing', getItem, { params: { item_id: 'a', rest: 'b' } })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(UnexpectedUpstreamAnswerError);
      expect(error).toMatchObject({
        upstream: 'billing',
        call: 'GET /items/:item_id/parts/*rest',
        status,
      });
    });

    it("reports the upstream's 429 on a route that declares none as rate_limited, once, with its Retry-After", async () => {
      const server = await serve((_request, response, index) => {
        response.setHeader('retry-after', index === 0 ? '7' : 'Wed, 21 Oct 2026 07:28:00 GMT');
        json(response, 429, { error: 'too many requests' });
      });
      const sut = clientFor({ billing: { baseUrl: server.url } });
      const call = () =>
        sut
          .call('billing', getItem, { params: { item_id: 'a', rest: 'b' } })
          .catch((caught: unknown) => caught);

      const limited = await call();
      expect(limited).toBeInstanceOf(UpstreamUnavailableError);
      expect(limited).toMatchObject({
        upstream: 'billing',
        reason: 'rate_limited',
        status: 429,
        retryAfterSeconds: 7,
      });
      // A GET is retried after a 503, never after a 429: every retry would be refused alike.
      expect(server.seen).toHaveLength(1);
      // Only seconds are relayed.
      expect(await call()).toMatchObject({ reason: 'rate_limited', retryAfterSeconds: undefined });
      // Past the breaker's volume threshold (3): 429s would have opened it, were they failures.
      for (let more = 0; more < CONFIG.breakerVolumeThreshold; more += 1) await call();
      expect(sut.breakerState('billing')).toBe('closed');
      expect(server.seen).toHaveLength(2 + CONFIG.breakerVolumeThreshold);
    });

    it('reads a 429 that the route declares as its outcome', async () => {
      const throttled = defineEndpoint({
        method: 'GET',
        path: '/throttled',
        summary: 'probe',
        answers: [
          { status: 200, kind: 'ok', body: z.object({}), description: 'served' },
          { status: 429, kind: 'busy', body: z.object({ error: z.string() }), description: '' },
        ],
      });
      const server = await serve((_request, response) =>
        json(response, 429, { error: 'too many writes in progress for this user' }),
      );
      const sut = clientFor({ billing: { baseUrl: server.url } });
      expect(await sut.call('billing', throttled)).toMatchObject({ kind: 'busy', status: 429 });
    });

    it('reads bytes as bytes and an error answer of such a route as JSON', async () => {
      const server = await serve((_request, response, index) => {
        if (index === 0) {
          response.writeHead(200, { 'content-type': 'application/octet-stream' });
          response.end(Buffer.from([0, 1, 2]));
        } else json(response, 404, { error: 'file not found' });
      });
      const sut = clientFor({ billing: { baseUrl: server.url } });

      const bytes = await sut.call('billing', getBytes);
      expect(bytes.kind).toBe('ok');
      expect(bytes.body).toEqual(Buffer.from([0, 1, 2]));
      expect(await sut.call('billing', getBytes)).toMatchObject({
        kind: 'not_found',
        body: { error: 'file not found' },
      });
    });
  });

  describe('as a Nest provider', () => {
    it.each(HTTP_ADAPTERS)(
      'is built by InternalClientModule with its credential, and shuts down with the app (%s)',
      async (adapter) => {
        const server = await serve((_request, response) => json(response, 200, { ok: true }));
        const moduleRef = await Test.createTestingModule({
          imports: [
            InternalClientModule.forRoot({
              callerName: 'auth-server',
              upstreams: { billing: { baseUrl: server.url } },
              client: CONFIG,
              internalAuth: AUTH,
            }),
          ],
        }).compile();
        const app = moduleRef.createNestApplication(await createHttpAdapter(adapter), {
          logger: false,
        });
        await app.init();
        const sut = app.get(InternalHttpClient);

        expect((await sut.request('billing', { method: 'GET', path: '/x' })).status).toBe(200);
        expect(server.seen[0].headers['x-internal-token']).toBe(TOKEN);
        expect(server.seen[0].headers['x-caller-service']).toBe('auth-server');

        await app.close();
        const error = await failure(sut.request('billing', { method: 'GET', path: '/x' }));
        expect(error.reason).toBe('shutdown');
        expect(server.seen).toHaveLength(1);
        // The kept-alive connection is closed with the app.
        await until(() => server.sockets[0].destroyed);
      },
    );
  });
});
