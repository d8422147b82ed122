import type { INestApplication } from '@nestjs/common';
import { SwaggerModule } from '@nestjs/swagger';
import { createOpenApiDocument } from './openapi-document';
import type { OpenApiOptions } from './openapi.options';

/**
 * What Swagger UI does to each request before sending it ("Try it out"): it encodes every
 * path parameter whole, so a file path `notes/a.txt` would go out as `notes%2Fa.txt`, which
 * the platform refuses (a `%2F` is never a separator). This sends a `/` as `/` again, in the
 * path only. Self-contained: Swagger UI runs its source text in the browser.
 */
export function keepSlashesInPath(request: { url: string }): { url: string } {
  const query = request.url.indexOf('?');
  const path = query === -1 ? request.url : request.url.slice(0, query);
  const rest = query === -1 ? '' : request.url.slice(query);
  request.url = path.replace(/%2F/gi, '/') + rest;
  return request;
}

/**
 * Serves Swagger UI at `options.docsPath` and the document at `<docsPath>/openapi.json`,
 * without credential, when `docsPath` is set; does nothing otherwise (internal services).
 * Call it before the application listens (as `runService` does): the routes are added to the
 * HTTP server directly, ahead of Nest's own, so no guard applies to them.
 */
export function serveOpenApiDocs(app: INestApplication, options: OpenApiOptions): void {
  if (!options.docsPath) return;
  const path = options.docsPath.replace(/^\/+|\/+$/g, '');
  SwaggerModule.setup(path, app, () => createOpenApiDocument(app, options), {
    jsonDocumentUrl: `${path}/openapi.json`,
    raw: ['json'],
    customSiteTitle: options.title,
    swaggerOptions: { requestInterceptor: keepSlashesInPath },
  });
}
