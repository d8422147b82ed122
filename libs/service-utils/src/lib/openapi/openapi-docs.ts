import type { INestApplication } from '@nestjs/common';
import { SwaggerModule } from '@nestjs/swagger';
import { createOpenApiDocument } from './openapi-document';
import type { OpenApiOptions } from './openapi.options';

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
  });
}
