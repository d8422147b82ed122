import type { INestApplication } from '@nestjs/common';
import { listRoutes } from '@zt/service-utils';
import { request } from './http-client';

/** `METHOD /path` of every route an application declares `@Public()`, sorted. */
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
