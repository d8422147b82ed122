import {
  Agent,
  createServer,
  type IncomingMessage,
  request as httpRequest,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

// Hop-by-hop headers (RFC 9110, section 7.6.1): they describe one connection, so a proxy
// never passes them on; Node frames each hop itself.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** One backend process behind a front: where it listens, and the requests it is serving. */
interface Target {
  readonly url: URL;
  readonly agent: Agent;
  inFlight: number;
  readonly idle: Array<() => void>;
}

/**
 * What a load balancer in front of a service does during a rolling update, reduced to what
 * the token-rotation test needs: a stable address (`url`) that callers keep using while the
 * process behind it is replaced. Two ways to replace it, as an orchestrator would:
 *
 * - {@link switchTo} (blue/green, for a service that may run twice at once): the new process
 *   is already up; new requests go to it at once, and the promise resolves when the old one
 *   has finished the requests it was serving, so it can be stopped without cutting any.
 * - {@link pause} + {@link resume} (for a service that must never run twice at once, like one
 *   holding an embedded database or a data folder): new requests wait at the front; `pause`
 *   resolves once the current process has no request left, then the caller stops it, starts
 *   the new one and calls `resume`, which sends it the waiting requests in arrival order.
 *
 * The front never closes a client's connection and never answers for a backend, except
 * `502` when the backend fails; those are counted in `failures` (a test expects none).
 * It logs nothing, so no header value (credentials included) leaves it.
 */
export class ServiceFront {
  /** Requests the front answered with 502 because the process behind it failed. */
  failures = 0;
  /** Requests passed to a backend process, in total. */
  forwarded = 0;
  /** Requests that waited at the front because no process was serving (see {@link pause}). */
  held = 0;
  private target: Target | undefined;
  private paused = true;
  private readonly waiting: Array<() => void> = [];

  private constructor(
    private readonly server: Server,
    /** The address callers use, whatever process serves it. */
    readonly url: string,
  ) {}

  /** Opens a front on a free port of 127.0.0.1. Requests wait until {@link resume} names a backend. */
  static async open(): Promise<ServiceFront> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const { port } = server.address() as AddressInfo;
    const front = new ServiceFront(server, `http://127.0.0.1:${port}`);
    server.on('request', (incoming: IncomingMessage, outgoing: ServerResponse) =>
      front.accept(incoming, outgoing),
    );
    return front;
  }

  /** Sends every new request to `url` at once; resolves when the previous process is idle. */
  async switchTo(url: string): Promise<void> {
    const previous = this.target;
    this.target = createTarget(url);
    this.release();
    if (previous) await retire(previous);
  }

  /** Holds new requests; resolves when the current process has answered all it was given. */
  async pause(): Promise<void> {
    this.paused = true;
    const previous = this.target;
    this.target = undefined;
    if (previous) await retire(previous);
  }

  /** Sends the held requests, then every new one, to `url`. */
  resume(url: string): void {
    this.target = createTarget(url);
    this.paused = false;
    this.release();
  }

  /** Stops accepting connections and closes the idle ones (call after the backends stopped). */
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.target?.agent.destroy();
  }

  private accept(incoming: IncomingMessage, outgoing: ServerResponse): void {
    if (this.paused || !this.target) {
      this.held += 1;
      this.waiting.push(() => this.forward(incoming, outgoing));
    } else {
      this.forward(incoming, outgoing);
    }
  }

  private release(): void {
    this.paused = false;
    for (const send of this.waiting.splice(0)) send();
  }

  private forward(incoming: IncomingMessage, outgoing: ServerResponse): void {
    // A client that gave up while its request waited is not sent on.
    if (incoming.destroyed || outgoing.destroyed) return;
    const target = this.target as Target;
    target.inFlight += 1;
    this.forwarded += 1;
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      target.inFlight -= 1;
      if (target.inFlight === 0) for (const notify of target.idle.splice(0)) notify();
    };

    const upstream = httpRequest(
      {
        host: target.url.hostname,
        port: target.url.port,
        method: incoming.method,
        path: incoming.url,
        headers: withoutHopByHop(incoming.rawHeaders),
        agent: target.agent,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, withoutHopByHop(answer.rawHeaders));
        answer.pipe(outgoing);
        answer.once('end', settle);
        answer.once('error', () => {
          this.failures += 1;
          outgoing.destroy();
          settle();
        });
      },
    );
    let clientGone = false;
    upstream.once('error', () => {
      // An upstream call cut because the client left is not the backend's failure.
      if (!clientGone) this.failures += 1;
      if (!outgoing.headersSent) {
        outgoing.writeHead(502, { 'Content-Type': 'application/json' });
        outgoing.end('{"error":"bad gateway"}');
      } else {
        outgoing.destroy();
      }
      settle();
    });
    // The client went away before its answer was complete: stop the upstream call too.
    outgoing.once('close', () => {
      if (!outgoing.writableFinished) {
        clientGone = true;
        upstream.destroy();
      }
      settle();
    });
    incoming.pipe(upstream);
  }
}

function createTarget(url: string): Target {
  // Idle sockets are dropped after 2 s, before the service's own keep-alive timeout (Node's
  // 5 s) closes them: else a request sent on a socket the service is closing at that moment
  // fails with ECONNRESET, a 502 of the front that no service caused (seen once in CI).
  const agent = new Agent({ keepAlive: true, timeout: 2_000 });
  return { url: new URL(url), agent, inFlight: 0, idle: [] };
}

/** Resolves once `target` serves no request, then closes its kept-alive connections. */
async function retire(target: Target): Promise<void> {
  if (target.inFlight > 0) await new Promise<void>((resolve) => target.idle.push(resolve));
  target.agent.destroy();
}

function withoutHopByHop(rawHeaders: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (!HOP_BY_HOP.has(rawHeaders[i].toLowerCase())) kept.push(rawHeaders[i], rawHeaders[i + 1]);
  }
  return kept;
}
