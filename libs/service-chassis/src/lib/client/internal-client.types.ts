import type { InjectionToken, ModuleMetadata } from '@nestjs/common';
import type { Endpoint, Outcome, RequestBody } from '@zt/contracts';
import type { InternalAuthConfig, ServiceTokenFetcher } from '@zt/service-utils';
import type { InternalClientConfig } from '../config/internal-client.config';
import type { FORWARDABLE_HEADERS } from './internal-client.constants';

/** One service the client calls. */
export interface InternalUpstream {
  /**
   * Where it listens, e.g. `http://127.0.0.1:6004` (from `BILLING_SERVER_URL`). `http:` or
   * `https:`, without user info, query or fragment; a path prefix is kept.
   */
  readonly baseUrl: string;
  /** The largest answer body accepted, in bytes (default 64 MiB); a larger one is `invalid_response`. */
  readonly maxResponseBytes?: number;
  /**
   * `false` calls this upstream without a circuit breaker: failures never stop later calls,
   * which still get the retries and the per-attempt deadline. Default `true`. It exists for
   * measurement and tests (the bench compares the client with and without its breaker); no
   * service configuration sets it, since a service must not hammer an upstream that is down.
   */
  readonly breaker?: boolean;
  /**
   * Its service name (`billing-server`): the audience of the service tokens sent to it. Needed
   * when this service sends service tokens (`INTERNAL_AUTH_MODE` `token+jwt` or `jwt`, or
   * `INTERNAL_AUTH_SHADOW=jwt`).
   */
  readonly audience?: string;
}

/**
 * Where this service's own service tokens come from when not from the token endpoint: a
 * factory with Nest dependencies, as in `useFactory`. Only the issuer itself (auth-server)
 * needs it, to mint its tokens in-process instead of calling itself.
 */
export interface ServiceTokenFetcherFactory {
  /** Modules that provide what `inject` names, when they are not global. */
  readonly imports?: ModuleMetadata['imports'];
  readonly inject?: InjectionToken[];
  readonly useFactory: (...dependencies: never[]) => ServiceTokenFetcher;
}

/** What `InternalClientModule.forRoot` needs. */
export interface InternalClientOptions {
  /**
   * This service's name, sent as `X-Caller-Service` on every call (lower-case letters, digits
   * and `-`, as billing requires: it keeps idempotency keys per calling service).
   */
  readonly callerName: string;
  /** Every upstream by the name call sites use, e.g. `{ billing: { baseUrl } }`. */
  readonly upstreams: Readonly<Record<string, InternalUpstream>>;
  /** Timeout, retries and breaker settings (from {@link loadInternalClientConfig}). */
  readonly client: InternalClientConfig;
  /**
   * The credential every call carries: the shared send token, and the service token for the
   * upstream when the mode says so (`InternalCallCredentials` of the trust kit).
   */
  readonly internalAuth: InternalAuthConfig;
  /** Default: tokens from the token endpoint, with `internalAuth.serviceClient`. */
  readonly serviceTokens?: ServiceTokenFetcherFactory;
}

/** The HTTP methods an internal call may use. */
export type InternalHttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

/** A header a call site may set; see {@link FORWARDABLE_HEADERS}. */
export type ForwardableHeader = (typeof FORWARDABLE_HEADERS)[number];

/** The headers a call site may set; any other header is dropped. */
export type InternalRequestHeaders = Readonly<Partial<Record<ForwardableHeader, string>>>;

/** One internal call. */
export interface InternalRequest {
  readonly method: InternalHttpMethod;
  /**
   * Path and query on the upstream, starting with `/`, e.g. `/ledger/u1?limit=10`. Segments
   * that come from users must be percent-encoded by the caller. A path that could leave the
   * upstream (`//host`, `http://...`) or climb out of it (`.` or `..` segments, also encoded),
   * a fragment, a backslash and anything but visible ASCII (white space, control characters,
   * unencoded non-ASCII) are refused with a `TypeError` before anything is sent.
   */
  readonly path: string;
  /**
   * The body: a `Buffer` is sent byte for byte (`Content-Type: application/octet-stream`
   * unless set), anything else is sent as JSON (`application/json`).
   */
  readonly body?: unknown;
  readonly headers?: InternalRequestHeaders;
  /** `json` (the default): parse a JSON answer; `buffer`: return the answer's bytes. */
  readonly responseType?: 'json' | 'buffer';
}

/** A call that wants the answer as bytes (e.g. a file). */
export interface InternalBufferRequest extends InternalRequest {
  readonly responseType: 'buffer';
}

/** A call that wants the answer parsed as JSON. */
export interface InternalJsonRequest extends InternalRequest {
  readonly responseType?: 'json';
}

/**
 * An answer below 500. A 4xx is a normal answer the caller handles (billing's 402, 404, 409).
 */
export interface InternalResponse<T> {
  readonly status: number;
  /**
   * For `json`: the parsed body when the answer is JSON, its text when it is another type,
   * `undefined` when it is empty. For `buffer`: the bytes.
   */
  readonly data: T;
  /** Response headers, names in lower case (repeated ones joined with `, `). */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * How many attempts the call took (1 when the first one answered). Above 1, an earlier
   * attempt may have reached the upstream although its answer was lost: an idempotent
   * upstream then answers the retry with the first attempt's replayed result.
   */
  readonly attempts?: number;
}

/**
 * The state of an upstream's circuit breaker, for health checks (always `closed` for an
 * upstream without one: {@link InternalUpstream.breaker}).
 */
export type BreakerState = 'closed' | 'open' | 'half_open';

/** One call of a contract's endpoint (`InternalHttpClient.call`). */
export interface EndpointCall<E extends Endpoint> {
  /** Values of the route's `:name` and `*name` parts. */
  readonly params?: Readonly<Record<string, string>>;
  readonly query?: Readonly<Record<string, string | undefined>>;
  /** The JSON body as the endpoint accepts it, or the bytes of a raw upload. */
  readonly body?: RequestBody<E> | Buffer;
  readonly headers?: InternalRequestHeaders;
}

/** An endpoint's outcome, with the answer's headers and the attempts the call took. */
export type CallOutcome<E extends Endpoint> = Outcome<E> & {
  /** Response headers, names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  /** As {@link InternalResponse.attempts}. */
  readonly attempts: number;
};
