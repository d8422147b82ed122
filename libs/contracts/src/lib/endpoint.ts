import type { z } from 'zod';
import { errorBody } from './values/error-body';

/** The HTTP methods our internal routes use. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** One answer an endpoint may give: its status, the outcome callers see, and its body. */
export interface AnswerSpec<
  Kind extends string = string,
  Body extends z.ZodTypeAny = z.ZodTypeAny,
> {
  readonly status: number;
  /** The outcome's name in the caller's discriminated union, e.g. `insufficient_funds`. */
  readonly kind: Kind;
  /** The body's schema; a caller's answer that does not match it is not this outcome. */
  readonly body: Body;
  /** One line for the OpenAPI document. */
  readonly description: string;
  /** Headers of this answer worth documenting, by name: what each says. */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * An error answer: `{"error": <message>}` (any message, or the one `body` fixes, e.g.
 * `errorWith('account not found')`), under the outcome name `kind`.
 */
export function errorAnswer<
  const Kind extends string,
  Body extends z.ZodTypeAny = typeof errorBody,
>(status: number, kind: Kind, description: string, body?: Body): AnswerSpec<Kind, Body> {
  return { status, kind, body: (body ?? errorBody) as Body, description };
}

/** A request header an endpoint reads (documented; each route checks its own). */
export interface HeaderSpec {
  readonly name: string;
  readonly description: string;
  readonly required?: boolean;
  readonly pattern?: RegExp;
}

/**
 * One route between services, written once: what the caller sends and every answer it may
 * get. The callee validates its input with {@link Endpoint.body} and {@link Endpoint.query};
 * the caller turns each answer into an {@link Outcome} with {@link readOutcome}; the OpenAPI
 * documents are generated from the same schemas.
 */
export interface Endpoint<Answers extends readonly AnswerSpec[] = readonly AnswerSpec[]> {
  readonly method: HttpMethod;
  /**
   * The route, in Nest's syntax: `:name` is one percent-encoded segment, `*name` the rest of
   * the path (percent-encoded by the caller, slashes kept).
   */
  readonly path: string;
  /** One line for the OpenAPI document. */
  readonly summary: string;
  /** Descriptions of the path's parameters, by name. */
  readonly params?: Readonly<Record<string, string>>;
  /** The JSON body's schema (the callee's input, after its transforms). */
  readonly body?: z.ZodTypeAny;
  /**
   * `bytes`: the request body is raw bytes (`application/octet-stream`), stored as sent.
   * `form`: `application/x-www-form-urlencoded` (OAuth), whose fields {@link Endpoint.body} documents.
   */
  readonly requestType?: 'json' | 'bytes' | 'form';
  /** Request headers the route reads, beyond the credential. */
  readonly headers?: readonly HeaderSpec[];
  /** The query's schema: every value arrives as a string. */
  readonly query?: z.ZodTypeAny;
  /** `bytes`: the success answer is the raw bytes (`application/octet-stream`), not JSON. */
  readonly answerType?: 'json' | 'bytes';
  readonly answers: Answers;
}

/**
 * Declares an endpoint, keeping in its type the literal kinds and statuses of its answers and
 * the exact schemas of its body and query.
 */
export function defineEndpoint<const E extends Endpoint>(endpoint: E): E {
  return endpoint;
}

/** The JSON body a callee reads from an endpoint, after its schema's transforms. */
export type ParsedBody<E extends Endpoint> = E['body'] extends z.ZodTypeAny
  ? z.output<E['body']>
  : never;

/** The query a callee reads from an endpoint, after its schema's transforms. */
export type ParsedQuery<E extends Endpoint> = E['query'] extends z.ZodTypeAny
  ? z.output<E['query']>
  : never;

type OutcomeOf<Answer> =
  Answer extends AnswerSpec<infer Kind, infer Body>
    ? { readonly kind: Kind; readonly status: number; readonly body: z.output<Body> }
    : never;

/**
 * What a caller gets from an endpoint: one member per answer, told apart by `kind`, with the
 * body as its schema parsed it. A `switch` over `kind` is checked for exhaustiveness by lint.
 */
export type Outcome<E extends Endpoint> = OutcomeOf<E['answers'][number]>;

/** What a caller sends: the JSON body as the endpoint's schema accepts it. */
export type RequestBody<E extends Endpoint> = E['body'] extends z.ZodTypeAny
  ? z.input<E['body']>
  : never;

/**
 * Reads an answer as the endpoint declares it: the first answer of that status whose schema
 * accepts the body. `undefined` when no answer fits (an undeclared status, or a body of the
 * wrong shape), which a caller must treat as an upstream fault, never guess around.
 */
export function readOutcome<E extends Endpoint>(
  endpoint: E,
  status: number,
  body: unknown,
): Outcome<E> | undefined {
  for (const answer of endpoint.answers) {
    if (answer.status !== status) continue;
    const parsed = answer.body.safeParse(body);
    if (parsed.success) {
      return { kind: answer.kind, status, body: parsed.data as unknown } as Outcome<E>;
    }
  }
  return undefined;
}

/**
 * The path and query of one call: `params` fill the route's `:name` (percent-encoded here)
 * and `*name` (already percent-encoded by the caller, slashes kept); `query` values are
 * percent-encoded here, and those `undefined` left out.
 * @throws TypeError when a part of the route has no value.
 */
export function pathOf(
  endpoint: Endpoint,
  params: Readonly<Record<string, string>> = {},
  query: Readonly<Record<string, string | undefined>> = {},
): string {
  const path = endpoint.path.replace(
    /([:*])([A-Za-z_]+)/g,
    (_match, sigil: string, name: string) => {
      const value = params[name];
      if (value === undefined)
        throw new TypeError(`no value for ${sigil}${name} in ${endpoint.path}`);
      return sigil === ':' ? encodeURIComponent(value) : value;
    },
  );
  const search = new URLSearchParams(
    Object.entries(query).filter((entry): entry is [string, string] => entry[1] !== undefined),
  ).toString();
  return search ? `${path}?${search}` : path;
}
