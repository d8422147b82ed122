import { z } from 'zod';
import { SERVICE_CLIENTS, type ServiceClientPolicy } from './service-clients';
import { SERVICE_AUDIENCES, type ServiceAudience } from './service-scopes';

// Who may call which internal route with a service token (DESIGN section 9), derived from the
// two places that decide it: each route's `@Scopes()`, as the OpenAPI documents list them, and
// the client policy the token endpoint applies (SERVICE_CLIENTS). `npm run policy` renders it
// as docs/policy.md; the stack-e2e suite policy-cells proves each cell against the services.

/**
 * The OpenAPI extension that lists the scopes an operation accepts (one of them), as the
 * service chassis writes it from the route's `@Scopes()`.
 */
export const SERVICE_TOKEN_SCOPES = 'x-service-token-scopes';

/** The methods an operation of the documents may have, in the order a table lists them. */
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

const openApiPaths = z.object({ paths: z.record(z.record(z.unknown())) });
const scopedOperation = z.object({ [SERVICE_TOKEN_SCOPES]: z.array(z.string()).optional() });

/** One internal route and the scopes it accepts (one of them). */
export interface ScopedRoute {
  /** `METHOD /path`, the path as the document writes it (`/balance/{user_id}`). */
  readonly route: string;
  readonly scopes: readonly string[];
}

/**
 * The routes of an OpenAPI document that declare scopes, sorted by path then method.
 * @throws ZodError when `document` has no `paths` or an operation's scopes are not strings.
 */
export function scopedRoutes(document: unknown): ScopedRoute[] {
  const { paths } = openApiPaths.parse(document);
  const routes: ScopedRoute[] = [];
  for (const path of Object.keys(paths).sort()) {
    for (const method of METHODS) {
      const described = paths[path][method];
      if (described === undefined) continue;
      const scopes = scopedOperation.parse(described)[SERVICE_TOKEN_SCOPES];
      if (scopes) routes.push({ route: `${method.toUpperCase()} ${path}`, scopes });
    }
  }
  return routes;
}

/** A cell of the policy table: the client can get a token the route accepts, or not. */
export type PolicyCell = 'allowed' | '-';

/**
 * Whether `client` can get a token for `audience` that a route accepting `scopes` lets pass:
 * one the token endpoint grants it there is among them.
 */
export function policyCell(
  client: ServiceClientPolicy,
  audience: ServiceAudience,
  scopes: readonly string[],
): PolicyCell {
  const granted: readonly string[] = client.audiences[audience] ?? [];
  return granted.some((scope) => scopes.includes(scope)) ? 'allowed' : '-';
}

/** A row of the policy table: a route, its scopes and a cell for each client. */
export interface PolicyRow extends ScopedRoute {
  /** By client id, in the order of the clients. */
  readonly cells: Readonly<Record<string, PolicyCell>>;
}

/** The policy table: for each service (in {@link SERVICE_AUDIENCES} order), its rows. */
export type PolicyTable = Readonly<Record<ServiceAudience, readonly PolicyRow[]>>;

/**
 * The policy table of `documents` (each service's OpenAPI document, parsed) and `clients`
 * (by default the versioned policy, {@link SERVICE_CLIENTS}).
 */
export function policyTable(
  documents: Readonly<Record<ServiceAudience, unknown>>,
  clients: readonly ServiceClientPolicy[] = SERVICE_CLIENTS,
): PolicyTable {
  const table = {} as Record<ServiceAudience, PolicyRow[]>;
  for (const service of SERVICE_AUDIENCES) {
    table[service] = scopedRoutes(documents[service]).map((route) => ({
      ...route,
      cells: Object.fromEntries(
        clients.map((client) => [client.clientId, policyCell(client, service, route.scopes)]),
      ),
    }));
  }
  return table;
}
