import {
  HttpStatus,
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  Optional,
} from '@nestjs/common';
import { Agent as HttpAgent, type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import CircuitBreaker from 'opossum';
import { CALLER_NAME_PATTERN, type Endpoint, pathOf, readOutcome } from '@zt/contracts';
import {
  type CallCredential,
  InternalCallCredentials,
  ServiceTokenUnavailableError,
} from '@zt/service-utils';
import type { InternalClientConfig } from '../config/internal-client.config';
import { currentRequestId } from '../logging/request-context';
import { REQUEST_ID_HEADER } from '../logging/request-id';
import {
  CALLER_SERVICE_HEADER,
  FORWARDABLE_HEADERS,
  INTERNAL_CLIENT_OPTIONS,
} from './internal-client.constants';
import type {
  BreakerState,
  CallOutcome,
  EndpointCall,
  InternalBufferRequest,
  InternalClientOptions,
  InternalJsonRequest,
  InternalRequest,
  InternalResponse,
  InternalUpstream,
} from './internal-client.types';
import { UnexpectedUpstreamAnswerError } from './unexpected-upstream-answer.error';
import { UpstreamUnavailableError } from './upstream-unavailable.error';

/** A call checked and ready to send; attempts of a retried call send the same one. */
interface PreparedCall {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | undefined;
  readonly responseType: 'json' | 'buffer';
}

/** How one upstream is reached: what an attempt needs besides the call. */
interface HttpTransport {
  /** `node:http`'s or `node:https`'s `request`, as the base URL's protocol says. */
  readonly request: typeof httpRequest;
  /** Keeps connections to this upstream alive between calls. */
  readonly agent: HttpAgent;
  readonly maxResponseBytes: number;
}

/** Everything the client keeps for one upstream. */
interface Upstream {
  readonly name: string;
  readonly base: URL;
  /** The audience of its service tokens. */
  readonly audience: string | undefined;
  readonly http: HttpTransport;
  /** Undefined when the upstream runs without one (`breaker: false`). */
  readonly breaker: CircuitBreaker<[PreparedCall], InternalResponse<unknown>> | undefined;
}

/** A complete answer, before its status and body are looked at. */
interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

// Methods whose repetition has the effect of one call (RFC 9110, section 9.2.2).
const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'PUT',
  'DELETE',
  'OPTIONS',
]);
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);
const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
const BACKOFF_BASE_MS = 50;
const BACKOFF_MAX_MS = 1000;
const MAX_RETRY_AFTER_SECONDS = 86_400;
// Printable ASCII only: nothing that could end a header line or that Node would refuse.
const HEADER_VALUE = /^[\x20-\x7e]*$/;
// Statuses whose answers never have a body, whatever their Content-Length says (RFC 9110).
const BODILESS_STATUSES: ReadonlySet<number> = new Set([204, 304]);
// `.` and `..` segments, also percent-encoded: URL parsing would resolve them.
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;

/**
 * The one way a service calls another. For every call it adds the internal credential (from
 * the trust kit's `InternalCallCredentials`: the shared token, and the service token for the
 * upstream when the mode says so) and `X-Caller-Service`, so no call site handles either. A
 * call whose service token the upstream refuses as invalid (`401` `invalid_token`: a key
 * rotation, say) is sent once more with a new token, whatever its method, since the upstream
 * did nothing with it; a call for which no token can be had fails with `no_service_token`
 * without being sent. It sends only
 * the allowed caller headers (`Idempotency-Key`, `X-User-ID`, `X-User-Assertion`, `X-Write-ID`, `X-Request-ID`, `Content-Type`);
 * sends the id of the request being served (`currentRequestId()`) as `X-Request-ID` unless
 * the call site set one, so one user action can be followed across services in the logs;
 * keeps connections alive; and gives every attempt a deadline (`INTERNAL_HTTP_TIMEOUT_MS`).
 * It sends with `node:http` / `node:https` directly: no proxy (`HTTP_PROXY` is ignored), no
 * redirects (a 3xx is an answer like any other) and no compression.
 *
 * Each upstream has its own opossum circuit breaker. Network errors, timeouts and 5xx answers
 * are failures; a 4xx is a normal answer and does not count. While a breaker is open, calls
 * fail at once with {@link UpstreamUnavailableError} (`breaker_open`) without touching the
 * network; after `CIRCUIT_BREAKER_RESET_MS` one trial call is let through, and its success
 * closes the breaker. State changes are logged (`circuit_breaker_state`), single failures not.
 * An upstream given `breaker: false` has none (for measurement and tests only, see
 * {@link InternalUpstream.breaker}): every call goes to the network, retries and deadlines alike.
 *
 * A call is retried (at most `INTERNAL_HTTP_RETRIES` times, with a short backoff) only when it
 * is idempotent (GET, HEAD, PUT, DELETE, OPTIONS) or carries an `Idempotency-Key`; only after a
 * network error, a timeout, or a 502/503/504; and never once the breaker is no longer closed.
 * A POST without `Idempotency-Key` is sent exactly once.
 *
 * Create it with `InternalClientModule.forRoot`, or directly in tests.
 */
@Injectable()
export class InternalHttpClient implements OnApplicationShutdown {
  private readonly logger = new Logger(InternalHttpClient.name);
  private readonly upstreams = new Map<string, Upstream>();
  private readonly config: InternalClientConfig;
  private readonly callerName: string;

  private readonly credentials: InternalCallCredentials;
  // Upstreams without a breaker need their own answer to calls after shutdown.
  private shutDown = false;

  /**
   * @param credentials what calls carry; by default made from `options.internalAuth`, with
   *   service tokens from the token endpoint.
   * @throws ConfigError when the mode needs service tokens and there is no client secret;
   *   TypeError for a bad `callerName`, a bad `baseUrl`, or an upstream without its `audience`
   *   when service tokens are sent.
   */
  constructor(
    @Inject(INTERNAL_CLIENT_OPTIONS) options: InternalClientOptions,
    @Optional() credentials?: InternalCallCredentials,
  ) {
    if (!CALLER_NAME_PATTERN.test(options.callerName)) {
      throw new TypeError(
        'InternalHttpClient: callerName must be a service name: lower-case words of letters and digits joined by "-" (at most 63 characters)',
      );
    }
    this.callerName = options.callerName;
    this.config = options.client;
    this.credentials =
      credentials ??
      new InternalCallCredentials(options.internalAuth, { timeoutMs: options.client.timeoutMs });
    for (const [name, upstream] of Object.entries(options.upstreams)) {
      if (this.credentials.sendsServiceTokens && upstream.audience === undefined) {
        throw new TypeError(
          `InternalHttpClient: upstream "${name}" needs its audience (its service name) to be sent service tokens`,
        );
      }
      this.upstreams.set(name, this.createUpstream(name, upstream));
    }
  }

  /**
   * Calls `upstream` and resolves with its answer when the status is below 500. `T` is what
   * the caller expects the JSON body to be; it is not checked here.
   * @param upstream the name given in `InternalClientModule.forRoot({ upstreams })`.
   * @throws UpstreamUnavailableError when the upstream gave no usable answer (after retries).
   * @throws TypeError for an unknown upstream, a refused path or a header value with control
   *   characters; nothing is sent then, and the breaker does not count it.
   */
  request(upstream: string, call: InternalBufferRequest): Promise<InternalResponse<Buffer>>;
  request<T = unknown>(upstream: string, call: InternalJsonRequest): Promise<InternalResponse<T>>;
  async request(upstream: string, call: InternalRequest): Promise<InternalResponse<unknown>> {
    const target = this.upstreams.get(upstream);
    if (!target) throw new TypeError(`InternalHttpClient: unknown upstream "${upstream}"`);
    // Checked before any token is asked for: a refused call never costs a token request.
    let prepared = this.prepare(target, call, {});
    const retryable =
      IDEMPOTENT_METHODS.has(prepared.method) || 'Idempotency-Key' in prepared.headers;
    let attempts = 1 + (retryable ? this.config.retries : 0);
    let credential = await this.credentialFor(target);
    prepared = this.prepare(target, call, credential.headers);
    let tokenRenewed = false;

    for (let attempt = 1; ; attempt += 1) {
      try {
        const response = await this.attempt(target, prepared);
        if (tokenRenewed || !this.credentials.refusedToken(target.audience, credential, response)) {
          return { ...response, attempts: attempt };
        }
        // Once, on top of the retries, and at once: the upstream did nothing with the call.
        tokenRenewed = true;
        attempts += 1;
        credential = await this.credentialFor(target);
        prepared = this.prepare(target, call, credential.headers);
        continue;
      } catch (error) {
        const failure = this.toUpstreamError(target.name, error);
        const closed = target.breaker?.closed ?? true;
        const again = attempt < attempts && isRetryableFailure(failure) && closed;
        if (!again) throw failure;
      }
      await sleep(backoffMs(attempt));
    }
  }

  /**
   * Calls one endpoint of a contract (`@zt/contracts`) and reads the answer into its outcome:
   * the caller switches over `outcome.kind` and never reads a status or casts a body.
   * @param call `params` fill the path's `:name` (percent-encoded here) and `*name` (already
   *   percent-encoded by the caller, slashes kept); `body` is sent as JSON, or as bytes when a
   *   `Buffer`; `query` values are percent-encoded here.
   * @throws UnexpectedUpstreamAnswerError when the answer is not one the contract declares
   *   (status or body shape): an upstream fault, never guessed around.
   * @throws UpstreamUnavailableError as {@link request} does, and `rate_limited` for a 429
   *   the contract does not declare.
   */
  async call<E extends Endpoint>(
    upstream: string,
    endpoint: E,
    call: EndpointCall<E> = {},
  ): Promise<CallOutcome<E>> {
    const name = `${endpoint.method} ${endpoint.path}`;
    const path = pathOf(endpoint, call.params, call.query);
    const request = { method: endpoint.method, path, body: call.body, headers: call.headers };
    const response =
      endpoint.answerType === 'bytes'
        ? await this.request(upstream, { ...request, responseType: 'buffer' })
        : await this.request(upstream, request);
    const outcome =
      readOutcome(endpoint, response.status, response.data) ??
      (Buffer.isBuffer(response.data)
        ? readOutcome(endpoint, response.status, jsonOf(response.data, response.headers))
        : undefined);
    if (outcome === undefined && response.status === HttpStatus.TOO_MANY_REQUESTS) {
      // The callee's own limit on this service (the guard's), not an answer about the call.
      const retryAfter = retryAfterSeconds(response.headers['retry-after']);
      throw new UpstreamUnavailableError(upstream, 'rate_limited', response.status, retryAfter);
    }
    if (outcome === undefined) {
      throw new UnexpectedUpstreamAnswerError(upstream, name, response.status);
    }
    return { ...outcome, headers: response.headers, attempts: response.attempts ?? 1 };
  }

  /** The names of every upstream this client calls, as given to `InternalClientModule.forRoot`. */
  upstreamNames(): string[] {
    return [...this.upstreams.keys()];
  }

  /** The state of `upstream`'s breaker, for health checks. */
  breakerState(upstream: string): BreakerState {
    const target = this.upstreams.get(upstream);
    if (!target) throw new TypeError(`InternalHttpClient: unknown upstream "${upstream}"`);
    if (!target.breaker) return 'closed';
    if (target.breaker.halfOpen) return 'half_open';
    return target.breaker.opened ? 'open' : 'closed';
  }

  /**
   * Shuts every breaker down (clearing its timers) and closes the kept-alive connections.
   * Runs after the HTTP server has stopped, so requests still in flight during a graceful
   * shutdown can finish their upstream calls. Later calls fail with `shutdown`.
   */
  onApplicationShutdown(): void {
    this.shutDown = true;
    for (const target of this.upstreams.values()) {
      target.breaker?.shutdown();
      target.http.agent.destroy();
    }
  }

  private createUpstream(name: string, upstream: InternalUpstream): Upstream {
    const base = parseBaseUrl(name, upstream.baseUrl);
    const https = base.protocol === 'https:';
    // Agents of our own: node:http never sends them through a proxy named by HTTP_PROXY and the
    // like (only Node's global agents can be told to), so the credential stays on this hop.
    const http: HttpTransport = {
      request: https ? httpsRequest : httpRequest,
      agent: https ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true }),
      maxResponseBytes: upstream.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
    };
    const audience = upstream.audience;
    if (upstream.breaker === false) return { name, base, audience, http, breaker: undefined };
    const breaker = new CircuitBreaker((call: PreparedCall) => this.send(name, http, call), {
      // The deadline is enforced per attempt in exchange(), which also ends the request.
      timeout: false,
      resetTimeout: this.config.breakerResetMs,
      errorThresholdPercentage: this.config.breakerErrorThresholdPercent,
      volumeThreshold: this.config.breakerVolumeThreshold,
      enableSnapshots: false,
      rollingPercentilesEnabled: false,
    });
    const logState = (state: BreakerState) => {
      const entry = { event: 'circuit_breaker_state', upstream: name, state };
      if (state === 'open') this.logger.warn(entry);
      else this.logger.log(entry);
    };
    breaker.on('open', () => logState('open'));
    breaker.on('halfOpen', () => logState('half_open'));
    breaker.on('close', () => logState('closed'));
    return { name, base, audience, http, breaker };
  }

  /** What a call to `target` carries; no token to be had is `no_service_token`. */
  private async credentialFor(target: Upstream): Promise<CallCredential> {
    try {
      return await this.credentials.forCall(target.audience);
    } catch (error) {
      if (error instanceof ServiceTokenUnavailableError) {
        throw new UpstreamUnavailableError(target.name, 'no_service_token');
      }
      throw error;
    }
  }

  private prepare(
    target: Upstream,
    call: InternalRequest,
    credential: Readonly<Record<string, string>>,
  ): PreparedCall {
    const headers: Record<string, string> = {};
    const given = call.headers ?? {};
    for (const [rawName, value] of Object.entries(given) as Array<[string, unknown]>) {
      const name = FORWARDABLE_HEADERS.find((h) => h.toLowerCase() === rawName.toLowerCase());
      if (name === undefined || value === undefined) continue;
      if (typeof value !== 'string' || !HEADER_VALUE.test(value)) {
        throw new TypeError(`InternalHttpClient: header ${name} must be printable ASCII text`);
      }
      if (name in headers) throw new TypeError(`InternalHttpClient: header ${name} given twice`);
      headers[name] = value;
    }

    const requestId = currentRequestId();
    if (requestId !== undefined && !(REQUEST_ID_HEADER in headers)) {
      headers[REQUEST_ID_HEADER] = requestId;
    }

    let body: Buffer | undefined;
    if (Buffer.isBuffer(call.body)) {
      body = call.body;
      headers['Content-Type'] ??= 'application/octet-stream';
    } else if (call.body !== undefined) {
      body = Buffer.from(JSON.stringify(call.body));
      headers['Content-Type'] ??= 'application/json';
    }
    // Always set: Node would send a GET's or DELETE's body with neither a length nor chunked
    // encoding, and the upstream would not read it as a body.
    if (body !== undefined) headers['Content-Length'] = String(body.length);

    // Set last, so that nothing a caller passes can replace them.
    headers[CALLER_SERVICE_HEADER] = this.callerName;
    Object.assign(headers, credential);

    return {
      method: call.method,
      url: resolveUrl(target.base, call.path),
      headers,
      body,
      responseType: call.responseType ?? 'json',
    };
  }

  /** One attempt, through the upstream's breaker when it has one. */
  private attempt(target: Upstream, call: PreparedCall): Promise<InternalResponse<unknown>> {
    if (target.breaker) return target.breaker.fire(call);
    if (this.shutDown) {
      return Promise.reject(new UpstreamUnavailableError(target.name, 'shutdown'));
    }
    return this.send(target.name, target.http, call);
  }

  /** One attempt: the breaker's action. Throws only what counts as an upstream failure. */
  private async send(
    upstream: string,
    http: HttpTransport,
    call: PreparedCall,
  ): Promise<InternalResponse<unknown>> {
    const { status, headers, body } = await this.exchange(upstream, http, call);
    if (status >= 500) {
      throw new UpstreamUnavailableError(upstream, 'server_error', status);
    }
    if (call.responseType === 'buffer') return { status, data: body, headers };
    return { status, data: decodeBody(upstream, body, headers), headers };
  }

  /**
   * Sends the request and reads the whole answer, whatever its status, within the deadline.
   * The deadline bounds the whole attempt, including a body that trickles in. When the
   * deadline passes or the body grows past `maxResponseBytes`, the request is destroyed, and
   * its socket with it: a half-read answer must not be reused for the next call.
   */
  private exchange(upstream: string, http: HttpTransport, call: PreparedCall): Promise<RawAnswer> {
    return new Promise<RawAnswer>((resolve, reject) => {
      // The first outcome settles the promise; destroying the request makes Node report
      // errors of its own afterwards, which are then ignored.
      const fail = (reason: 'timeout' | 'network' | 'invalid_response') => {
        clearTimeout(deadline);
        reject(new UpstreamUnavailableError(upstream, reason));
        request.destroy();
      };
      const request = http.request(
        call.url,
        { method: call.method, headers: call.headers, agent: http.agent },
        (response) => {
          // Always set on the answer to a request (only a server's incoming message lacks it).
          const status = response.statusCode as number;
          const hasBody = call.method !== 'HEAD' && !BODILESS_STATUSES.has(status);
          // A declared length over the limit fails before anything is read.
          if (hasBody && Number(response.headers['content-length']) > http.maxResponseBytes) {
            fail('invalid_response');
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > http.maxResponseBytes) fail('invalid_response');
            else chunks.push(chunk);
          });
          // A connection lost mid-body, or an answer Node cannot parse.
          response.on('error', () => fail('network'));
          response.on('end', () => {
            clearTimeout(deadline);
            resolve({
              status,
              headers: flattenHeaders(response.headers),
              body: Buffer.concat(chunks, size),
            });
          });
        },
      );
      const deadline = setTimeout(() => fail('timeout'), this.config.timeoutMs);
      request.on('error', () => fail('network'));
      request.end(call.body);
    });
  }

  private toUpstreamError(upstream: string, error: unknown): UpstreamUnavailableError {
    if (error instanceof UpstreamUnavailableError) return error;
    if (error instanceof Error && CircuitBreaker.isOurError(error)) {
      const code = (error as Error & { code?: string }).code;
      return new UpstreamUnavailableError(
        upstream,
        code === 'ESHUTDOWN' ? 'shutdown' : 'breaker_open',
      );
    }
    // send() wraps every failure; anything else is a bug and must not be disguised.
    throw error;
  }
}

function parseBaseUrl(name: string, baseUrl: string): URL {
  let base: URL;
  try {
    base = new URL(baseUrl);
  } catch {
    throw new TypeError(`InternalHttpClient: upstream "${name}" has an invalid baseUrl`);
  }
  if (
    (base.protocol !== 'http:' && base.protocol !== 'https:') ||
    base.username !== '' ||
    base.password !== '' ||
    base.search !== '' ||
    base.hash !== ''
  ) {
    throw new TypeError(
      `InternalHttpClient: upstream "${name}" baseUrl must be http(s) without user info, query or fragment`,
    );
  }
  return base;
}

function resolveUrl(base: URL, path: string): URL {
  const [pathname] = path.split('?', 1);
  const refused =
    !path.startsWith('/') ||
    path.startsWith('//') ||
    !/^[\x21-\x7e]+$/.test(path) ||
    /[\\#]/.test(path) ||
    pathname.split('/').some((segment) => DOT_SEGMENT.test(segment));
  if (refused) throw new TypeError('InternalHttpClient: refused request path');
  const url = new URL(base.origin + base.pathname.replace(/\/+$/, '') + path);
  // Belt and braces: whatever the path, the credential only goes to the configured origin.
  if (url.origin !== base.origin) throw new TypeError('InternalHttpClient: refused request path');
  return url;
}

function isRetryableFailure(failure: UpstreamUnavailableError): boolean {
  switch (failure.reason) {
    case 'timeout':
    case 'network':
      return true;
    case 'server_error':
      return failure.status !== undefined && RETRYABLE_STATUSES.has(failure.status);
    case 'breaker_open':
    case 'invalid_response':
    case 'shutdown':
    case 'no_service_token':
    case 'rate_limited':
      return false;
  }
}

/**
 * A `Retry-After` in seconds, as the kit's guard sends it (Node keeps the first of repeated
 * ones); a date or a wait of over a day is not relayed (the caller's own answer then has no
 * `Retry-After`).
 */
function retryAfterSeconds(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,5}$/.test(value)) return undefined;
  const seconds = Number(value);
  return seconds <= MAX_RETRY_AFTER_SECONDS ? seconds : undefined;
}

function backoffMs(attempt: number): number {
  const exponential = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
  return exponential + Math.floor(Math.random() * BACKOFF_BASE_MS);
}

function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  // Node gives the names in lower case, and repeated headers as an array (Set-Cookie) or
  // already joined with `, `.
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

function decodeBody(upstream: string, bytes: Buffer, headers: Record<string, string>): unknown {
  if (bytes.length === 0) return undefined;
  const text = bytes.toString('utf8');
  const type = (headers['content-type'] ?? '').toLowerCase();
  if (!/^application\/(?:[a-z0-9.+-]+\+)?json\b/.test(type)) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UpstreamUnavailableError(upstream, 'invalid_response');
  }
}

/** The JSON of an error answer that came as bytes (a route whose success answer is bytes). */
function jsonOf(bytes: Buffer, headers: Readonly<Record<string, string>>): unknown {
  if (!/^application\/json\b/i.test(headers['content-type'] ?? '')) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
