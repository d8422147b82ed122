import { type IncomingHttpHeaders, request as httpRequest } from 'node:http';

/** An answer read off the wire. */
export interface WireResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body exactly as received. */
  readonly bytes: Buffer;
  /** The parsed JSON body, or the text when it is not JSON, or undefined when empty. */
  readonly body: unknown;
}

/** One request, sent without any of the normalisation that `fetch` and `new URL` apply. */
export interface WireRequest {
  readonly method?: string;
  /** The request target, sent exactly as written: `..`, `%2e%2e`, `//` and `%2F` survive. */
  readonly path: string;
  /** Header lines as name, value, name, value...: repeated names are sent repeated. */
  readonly headers?: readonly string[];
  /** Sent with a `Content-Length`. */
  readonly body?: Buffer | string;
  /** Sent with `Transfer-Encoding: chunked` and no length, one write per chunk. */
  readonly chunks?: readonly Buffer[];
}

/**
 * Sends `request` to `baseUrl` over node:http and reads the whole answer. A chunked upload
 * stops writing as soon as an answer arrives (the server may refuse mid-upload and close).
 */
export function send(baseUrl: string, request: WireRequest): Promise<WireResponse> {
  const target = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    let answered = false;
    const lengthHeader =
      request.body === undefined
        ? request.chunks === undefined
          ? []
          : ['Transfer-Encoding', 'chunked']
        : ['Content-Length', String(Buffer.byteLength(request.body))];
    const outgoing = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: request.path,
        method: request.method ?? 'GET',
        headers: ['Host', target.host, ...(request.headers ?? []), ...lengthHeader],
      },
      (incoming) => {
        answered = true;
        const parts: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => parts.push(chunk));
        incoming.on('error', reject);
        incoming.on('end', () => {
          const bytes = Buffer.concat(parts);
          const text = bytes.toString('utf8');
          const isJson = (incoming.headers['content-type'] ?? '').includes('application/json');
          resolve({
            status: incoming.statusCode ?? 0,
            headers: incoming.headers,
            bytes,
            body: isJson ? JSON.parse(text) : text === '' ? undefined : text,
          });
        });
      },
    );
    // Once answered, a reset of the rest of an upload the server refused is expected.
    outgoing.on('error', (error) => {
      if (!answered) reject(error);
    });
    if (request.chunks === undefined) {
      outgoing.end(request.body);
      return;
    }
    void (async () => {
      for (const chunk of request.chunks ?? []) {
        if (answered || outgoing.destroyed) return;
        await new Promise<void>((done) => outgoing.write(chunk, () => done()));
        // Let the server see each chunk on its own before the next one.
        await new Promise((done) => setTimeout(done, 5));
      }
      if (!answered && !outgoing.destroyed) outgoing.end();
    })();
  });
}

/**
 * Starts an upload that declares `declaredBytes`, sends only `sentBytes` of them, then drops
 * the connection, as a caller that crashes mid-upload would. Resolves once the socket is gone.
 */
export function sendThenDrop(
  baseUrl: string,
  request: { path: string; headers: readonly string[]; declaredBytes: number; sentBytes: number },
): Promise<void> {
  const target = new URL(baseUrl);
  return new Promise((resolve) => {
    const outgoing = httpRequest({
      host: target.hostname,
      port: target.port,
      path: request.path,
      method: 'PUT',
      headers: [
        'Host',
        target.host,
        ...request.headers,
        'Content-Length',
        String(request.declaredBytes),
      ],
    });
    outgoing.on('error', () => undefined);
    outgoing.on('close', () => resolve());
    outgoing.write(Buffer.alloc(request.sentBytes, 1), () => {
      // Give the server time to start storing the bytes before the connection drops.
      setTimeout(() => outgoing.destroy(), 100);
    });
  });
}

/**
 * Starts an upload that declares `declaredBytes` but sends only `sentBytes` and keeps the
 * connection open, then resolves with the answer that arrives anyway (an early refusal), and
 * drops the connection. Never resolves when the server waits for the rest of the body.
 */
export function sendPartial(
  baseUrl: string,
  request: { path: string; headers: readonly string[]; declaredBytes: number; sentBytes: number },
): Promise<WireResponse> {
  const target = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: request.path,
        method: 'PUT',
        headers: [
          'Host',
          target.host,
          ...request.headers,
          'Content-Length',
          String(request.declaredBytes),
        ],
      },
      (incoming) => {
        const parts: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => parts.push(chunk));
        incoming.on('end', () => {
          const bytes = Buffer.concat(parts);
          outgoing.destroy();
          resolve({
            status: incoming.statusCode ?? 0,
            headers: incoming.headers,
            bytes,
            body: JSON.parse(bytes.toString('utf8')),
          });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.write(Buffer.alloc(request.sentBytes, 1));
  });
}
