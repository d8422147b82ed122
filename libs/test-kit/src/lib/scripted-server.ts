import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a {@link ScriptedServer} saw of one request. */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** The header lines as received, name, value, name, value...: repeated lines stay apart. */
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
}

/** Answers one request (its body already read). */
export type ScriptedHandler = (request: SeenRequest, response: ServerResponse) => void;

/** A real HTTP server on a free port whose answers a test scripts (and may change). */
export interface ScriptedServer {
  readonly url: string;
  readonly port: number;
  readonly seen: SeenRequest[];
  handler: ScriptedHandler;
  close(): Promise<void>;
}

/** Starts a {@link ScriptedServer} on 127.0.0.1 (`port` 0: a free one). */
export async function startScriptedServer(
  handler: ScriptedHandler,
  port = 0,
): Promise<ScriptedServer> {
  const seen: SeenRequest[] = [];
  const scripted = { handler } as ScriptedServer;
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const entry: SeenRequest = {
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        rawHeaders: request.rawHeaders,
        body: Buffer.concat(chunks),
      };
      seen.push(entry);
      scripted.handler(entry, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return Object.assign(scripted, {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

/** Answers with a JSON body. */
export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

/**
 * Every value of header `name` (any case) in `seen`, one per header line received; none when
 * there is no such request (`undefined`, e.g. from a `find` that found nothing).
 */
export function headerLines(seen: SeenRequest | undefined, name: string): string[] {
  if (seen === undefined) return [];
  const lower = name.toLowerCase();
  return seen.rawHeaders.filter(
    (_, i) => i % 2 === 1 && seen.rawHeaders[i - 1].toLowerCase() === lower,
  );
}

/** A port on 127.0.0.1 where nothing listens (taken from a server that was just closed). */
export async function closedPort(): Promise<number> {
  const server = await startScriptedServer(() => undefined);
  await server.close();
  return server.port;
}
