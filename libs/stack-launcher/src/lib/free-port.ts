import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Below this, ports of well-known servers (3000, 5432, 6379, 8080, 9090, ...) lie. */
const LOWEST = 15_000;
const ATTEMPTS = 50;

/**
 * A TCP port on 127.0.0.1 that was free a moment ago. For a service whose address must be
 * known before it starts (its callers', or its own issuer URL) or must stay the same across
 * a restart; otherwise prefer port 0 and read the port the service logs.
 *
 * It is drawn at random below the kernel's ephemeral range: that range is where every
 * `listen(0)` and every outgoing connection of a busy machine (parallel suites, database
 * pools) takes its ports, so a port found there is the likeliest to be taken again before
 * the service listens on it.
 */
export async function freePort(): Promise<number> {
  const highest = ephemeralRangeStart() - 1;
  for (let attempt = 0; attempt < ATTEMPTS && highest > LOWEST; attempt += 1) {
    const port = randomInt(LOWEST, highest + 1);
    if ((await listenOnce(port)) !== undefined) return port;
  }
  const any = await listenOnce(0);
  if (any === undefined) throw new Error('no free TCP port on 127.0.0.1');
  return any;
}

/** The port `port` (0: any) could be listened on, or undefined when it is taken. */
function listenOnce(port: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) =>
      error.code === 'EADDRINUSE' || error.code === 'EACCES' ? resolve(undefined) : reject(error),
    );
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      const { port: bound } = server.address() as { port: number };
      server.close(() => resolve(bound));
    });
  });
}

/** The first port of the kernel's ephemeral range (Linux; elsewhere the IANA 49152). */
function ephemeralRangeStart(): number {
  try {
    const [start] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/);
    return Number(start) || 49_152;
  } catch {
    return 49_152;
  }
}
