import {
  type ClientRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request as httpRequest,
} from 'node:http';

/** An answer read off the wire. */
export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body exactly as received. */
  readonly bytes: Buffer;
  /** The parsed JSON body, or the text when it is not JSON, or undefined when empty. */
  readonly body: unknown;
}

/** One request, sent without any of the normalisation that `fetch` and `new URL` apply. */
export interface RawRequest {
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

/** An upload that declares more bytes than it sends, as a caller that stalls or crashes does. */
export interface TruncatedUpload {
  /** `PUT` unless given. */
  readonly method?: string;
  /** The request target, sent exactly as written. */
  readonly path: string;
  /** Header lines as name, value, name, value... (`Content-Length` is added). */
  readonly headers: readonly string[];
  /** The `Content-Length` sent. */
  readonly declaredBytes: number;
  /** How many bytes of the body are actually written. */
  readonly sentBytes: number;
}

/**
 * Sends `request` to the host of `baseUrl` over node:http and reads the whole answer. Only
 * the host and port of `baseUrl` are used; the target is `request.path` as written. A chunked
 * upload stops writing as soon as an answer arrives (the server may refuse mid-upload and close).
 */
export function sendRaw(baseUrl: string, request: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const lengthHeader =
      request.body === undefined
        ? request.chunks === undefined
          ? []
          : ['Transfer-Encoding', 'chunked']
        : ['Content-Length', String(Buffer.byteLength(request.body))];
    const outgoing = open(
      baseUrl,
      request.method ?? 'GET',
      request.path,
      [...(request.headers ?? []), ...lengthHeader],
      (incoming) => {
        answered = true;
        readAnswer(incoming).then(resolve, reject);
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
 * Starts a `PUT` of `upload`, then drops the connection mid-body, as a caller that crashes
 * mid-upload would. Resolves once the socket is gone.
 */
export function sendRawThenDrop(baseUrl: string, upload: TruncatedUpload): Promise<void> {
  return new Promise((resolve) => {
    const outgoing = startTruncatedUpload(baseUrl, upload, () => {
      // Give the server time to start storing the bytes before the connection drops.
      setTimeout(() => outgoing.destroy(), 100);
    });
    outgoing.on('error', () => undefined);
    outgoing.on('close', () => resolve());
  });
}

/**
 * Starts a `PUT` of `upload` and keeps the connection open, then resolves with the answer
 * that arrives anyway (an early refusal), and drops the connection. Never resolves when the
 * server waits for the rest of the body.
 */
export function sendRawPartial(baseUrl: string, upload: TruncatedUpload): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const outgoing = startTruncatedUpload(baseUrl, upload, undefined, (incoming) => {
      readAnswer(incoming).then((answer) => {
        outgoing.destroy();
        resolve(answer);
      }, reject);
    });
    outgoing.on('error', reject);
  });
}

function startTruncatedUpload(
  baseUrl: string,
  upload: TruncatedUpload,
  onWritten?: () => void,
  onAnswer?: (incoming: IncomingMessage) => void,
): ClientRequest {
  const outgoing = open(
    baseUrl,
    upload.method ?? 'PUT',
    upload.path,
    [...upload.headers, 'Content-Length', String(upload.declaredBytes)],
    onAnswer,
  );
  outgoing.write(Buffer.alloc(upload.sentBytes, 1), onWritten);
  return outgoing;
}

/** `Host` goes first, as from a client; `path` is passed through untouched. */
function open(
  baseUrl: string,
  method: string,
  path: string,
  headers: readonly string[],
  onAnswer?: (incoming: IncomingMessage) => void,
): ClientRequest {
  const origin = new URL(baseUrl);
  return httpRequest(
    {
      host: origin.hostname,
      port: origin.port,
      path,
      method,
      headers: ['Host', origin.host, ...headers],
    },
    onAnswer,
  );
}

function readAnswer(incoming: IncomingMessage): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
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
  });
}
