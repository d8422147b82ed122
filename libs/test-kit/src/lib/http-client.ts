import { request as httpRequest } from 'node:http';

/** An HTTP answer as a test looks at it. */
export interface TestResponse {
  readonly status: number;
  readonly headers: Headers;
  /** The parsed JSON body, or the text when it is not JSON, or undefined when empty. */
  readonly body: unknown;
}

/** What to send. `json` is serialised; `body` is sent as is (for malformed input). */
export interface TestRequest {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly json?: unknown;
  readonly body?: string | Buffer;
}

/** Sends one request with `fetch` and reads the whole answer. */
export async function request(url: string, options: TestRequest = {}): Promise<TestResponse> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | Buffer | undefined = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(url, { method: options.method ?? 'GET', headers, body });
  const text = await response.text();
  let parsed: unknown = text === '' ? undefined : text;
  if ((response.headers.get('content-type') ?? '').includes('application/json'))
    parsed = JSON.parse(text);
  return { status: response.status, headers: response.headers, body: parsed };
}

/**
 * Sends one request with exactly the header lines given (`['X-A', '1', 'X-A', '2']`), which
 * `fetch` cannot do: it merges repeated headers. For tests of repeated credentials.
 */
export function rawRequest(
  url: string,
  options: { method?: string; rawHeaders: string[]; body?: string },
): Promise<TestResponse> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method: options.method ?? 'GET',
        headers: [
          'Host',
          target.host,
          ...options.rawHeaders,
          ...(options.body === undefined
            ? []
            : ['Content-Length', String(Buffer.byteLength(options.body))]),
        ],
      },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const headers = new Headers();
          for (const [name, value] of Object.entries(incoming.headers)) {
            if (typeof value === 'string') headers.set(name, value);
          }
          const isJson = (incoming.headers['content-type'] ?? '').includes('application/json');
          resolve({
            status: incoming.statusCode ?? 0,
            headers,
            body: isJson ? JSON.parse(text) : text || undefined,
          });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}
