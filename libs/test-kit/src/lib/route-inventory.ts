import type { INestApplication } from '@nestjs/common';
import { listRoutes, type RouteDescription } from '@zt/service-utils';
import { isDeepStrictEqual } from 'node:util';
import { request } from './http-client';

/** `METHOD /path` of every route an application declares `@Public()` (open to anyone), sorted. */
export function publicRouteNames(app: INestApplication): string[] {
  return listRoutes(app)
    .filter((route) => route.isPublic)
    .map((route) => `${route.method} ${route.path}`);
}

/**
 * `METHOD /path` of every internal route that declares no scopes (`@Scopes()`): with service
 * identity such a route refuses every caller, so each must say which scopes it accepts
 * (DESIGN section 9). `internal` picks the internal routes: by default every route that is not
 * `@Public()` (a public edge passes `(route) => route.isInternalOnly`).
 */
export function routesWithoutScopes(
  app: INestApplication,
  internal: (route: RouteDescription) => boolean = (route) => !route.isPublic,
): string[] {
  const routes = listRoutes(app).filter(internal);
  if (routes.length === 0) throw new Error('routesWithoutScopes: no internal route to check');
  return routes
    .filter((route) => route.scopes === undefined)
    .map((route) => `${route.method} ${route.path}`);
}

/** Which routes {@link routesOpenWithoutCredential} calls, with what, and the refusal it expects. */
export interface CredentialProbe {
  /**
   * Which routes to call; by default every route that is neither `@Public()` nor
   * `@ScrapeOnly()` (which refuses with 401, not 403: probe it on its own).
   */
  readonly routes?: (route: RouteDescription) => boolean;
  /**
   * The header sets sent to each route, none of which may be a credential the route accepts;
   * by default one empty set (no credential at all).
   */
  readonly attempts?: ReadonlyArray<Readonly<Record<string, string>>>;
  /** The answer every attempt must get, status and exact JSON body; by default `403 {"error":"Forbidden"}`. */
  readonly refusal?: { readonly status: number; readonly body: unknown };
}

/** A route that did not refuse a probe as expected, with the headers sent and what it answered. */
export interface OpenRoute {
  readonly route: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly status: number;
}

/**
 * Calls the routes `probe.routes` selects (by default every route that is neither `@Public()`
 * nor `@ScrapeOnly()`)
 * with each header set of `probe.attempts` (by default none at all), path parameters filled
 * with sample values, and returns those answers that were NOT exactly `probe.refusal` (by
 * default `403 {"error":"Forbidden"}`): an empty list means every such route is guarded.
 * Throws when no route is selected, since probing nothing proves nothing. `app` must be listening.
 */
export async function routesOpenWithoutCredential(
  app: INestApplication,
  probe: CredentialProbe = {},
): Promise<OpenRoute[]> {
  const {
    routes: selected = (route: RouteDescription) => !route.isPublic && !route.isScrapeOnly,
    attempts = [{}],
    refusal = { status: 403, body: { error: 'Forbidden' } },
  } = probe;
  const routes = listRoutes(app).filter(selected);
  if (routes.length === 0) throw new Error('routesOpenWithoutCredential: no route to probe');
  const baseUrl = await app.getUrl();
  const open: OpenRoute[] = [];
  for (const route of routes) {
    const path = route.path.replace(/:[^/]+/g, 'sample-user').replace(/\*[^/]*/g, 'a/b.txt');
    for (const headers of attempts) {
      const response = await request(`${baseUrl}${path}`, {
        method: route.method,
        headers,
        json: ['GET', 'HEAD', 'DELETE'].includes(route.method)
          ? undefined
          : { user_id: 'sample-user', tier: 'pro', amount: 1 },
      });
      const refused =
        response.status === refusal.status && isDeepStrictEqual(response.body, refusal.body);
      if (!refused)
        open.push({ route: `${route.method} ${route.path}`, headers, status: response.status });
    }
  }
  return open;
}

/**
 * What a `@ScrapeOnly()` route (`GET /metrics`) must refuse: no credential, and the shared
 * token (`internalToken`), which can move money, in either header. Give it to
 * {@link routesOpenWithoutCredential} with `routes: (route) => route.isScrapeOnly`.
 */
export function scrapeRouteProbe(internalToken: string): CredentialProbe {
  return {
    routes: (route) => route.isScrapeOnly,
    attempts: [
      {},
      { 'X-INTERNAL-TOKEN': internalToken },
      { Authorization: `Bearer ${internalToken}` },
    ],
    refusal: { status: 401, body: { error: 'unauthorized' } },
  };
}

/** `METHOD /path` of every route an application declares `@InternalOnly()`, sorted. */
export function internalOnlyRouteNames(app: INestApplication): string[] {
  return listRoutes(app)
    .filter((route) => route.isInternalOnly)
    .map((route) => `${route.method} ${route.path}`);
}

/** Where OpenAPI docs are usually served (Swagger UI and the document). */
export const USUAL_DOCS_PATHS = [
  '/docs',
  '/docs/',
  '/docs-json',
  '/docs/openapi.json',
  '/api',
  '/api-json',
  '/swagger',
  '/openapi.json',
] as const;

/**
 * The usual docs paths ({@link USUAL_DOCS_PATHS}) at which a listening application answers
 * 200 without credential: an empty list means it serves no API docs.
 */
export async function serviceDocsExposed(app: INestApplication): Promise<string[]> {
  const baseUrl = await app.getUrl();
  const exposed: string[] = [];
  for (const path of USUAL_DOCS_PATHS) {
    if ((await request(`${baseUrl}${path}`)).status === 200) exposed.push(path);
  }
  return exposed;
}
