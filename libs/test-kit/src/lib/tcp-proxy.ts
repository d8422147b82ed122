import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/** A TCP hop to a server that a test can cut and restore, as a network or server outage. */
export interface TcpProxy {
  /** The port it listens on, at 127.0.0.1. */
  readonly port: number;
  /** `url` with its host and port replaced by the proxy's, so that a client goes through it. */
  through(url: string): string;
  /** Drops every open connection and refuses new ones until {@link restore}. */
  cut(): void;
  /** Accepts and forwards connections again. */
  restore(): void;
  close(): Promise<void>;
}

/** Starts a {@link TcpProxy} to `host:port` (PostgreSQL, Redis, any TCP server). */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let forwarding = true;
  const track = (socket: Socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
  };
  const server: Server = createServer((client) => {
    if (!forwarding) {
      client.destroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    track(client);
    track(upstream);
    // Either side failing or closing ends both: no half-open connection is left behind.
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      socket.on('close', end);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    through(url) {
      const proxied = new URL(url);
      proxied.hostname = '127.0.0.1';
      proxied.port = String(port);
      return proxied.toString();
    },
    cut() {
      forwarding = false;
      for (const socket of open) socket.destroy();
    },
    restore() {
      forwarding = true;
    },
    close() {
      forwarding = false;
      for (const socket of open) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
