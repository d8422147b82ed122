import { sendRaw } from './raw-http';

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
 * `fetch` cannot do: it merges repeated headers. For tests of repeated credentials. The path
 * and query of `url` are sent as written, never normalised: `..`, `%2e%2e` and `//` reach the
 * server as they are (see {@link sendRaw}).
 */
export async function rawRequest(
  url: string,
  options: { method?: string; rawHeaders: string[]; body?: string },
): Promise<TestResponse> {
  // Split by hand: `new URL(url)` would resolve `..` and `%2e%2e` in the path.
  const split = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)(.*)$/i.exec(url);
  if (!split) throw new Error(`rawRequest needs an absolute URL, got ${url}`);
  const [, origin, target] = split;
  const answer = await sendRaw(origin, {
    method: options.method,
    path: target.startsWith('/') ? target : `/${target}`,
    headers: options.rawHeaders,
    body: options.body,
  });
  const headers = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) {
    if (typeof value === 'string') headers.set(name, value);
  }
  return { status: answer.status, headers, body: answer.body };
}
