import type { INestApplication } from '@nestjs/common';
import { listRoutes } from '@zt/service-utils';
import { request } from './http-client';

/** `METHOD /path` of every route an application declares `@Public()` (open to anyone), sorted. */
export function publicRouteNames(app: INestApplication): string[] {
  return listRoutes(app)
    .filter((route) => route.isPublic)
    .map((route) => `${route.method} ${route.path}`);
}

/**
 * Calls every route that is not `@Public()` without any credential (path parameters filled
 * with sample values) and returns those that did NOT answer `403 {"error":"Forbidden"}`:
 * an empty list means every such route is guarded. `app` must be listening.
 */
export async function routesOpenWithoutCredential(
  app: INestApplication,
): Promise<Array<{ route: string; status: number }>> {
  const baseUrl = await app.getUrl();
  const open: Array<{ route: string; status: number }> = [];
  for (const route of listRoutes(app).filter((candidate) => !candidate.isPublic)) {
    const path = route.path.replace(/:[^/]+/g, 'sample-user').replace(/\*[^/]*/g, 'a/b.txt');
    const response = await request(`${baseUrl}${path}`, {
      method: route.method,
      json: ['GET', 'HEAD', 'DELETE'].includes(route.method)
        ? undefined
        : { user_id: 'sample-user', tier: 'pro', amount: 1 },
    });
    const forbidden =
      response.status === 403 && JSON.stringify(response.body) === '{"error":"Forbidden"}';
    if (!forbidden) open.push({ route: `${route.method} ${route.path}`, status: response.status });
  }
  return open;
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
