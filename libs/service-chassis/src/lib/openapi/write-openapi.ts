import type { DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createOpenApiDocument } from './openapi-document';
import type { OpenApiOptions } from './openapi.options';

/**
 * Builds `module` into an application without listening, writes its OpenAPI document to
 * `file` (JSON, two-space indented, ending with a newline) and closes it again. Give it a
 * module without local state (e.g. the app module with an in-memory database): the document
 * depends on the routes only. `npm run openapi` uses it through each service's
 * `main.js --write-openapi=<file>`.
 */
export async function writeOpenApiDocument(
  module: DynamicModule,
  options: OpenApiOptions,
  file: string,
): Promise<void> {
  const app = await NestFactory.create(module, {
    logger: false,
    bodyParser: false,
    abortOnError: false,
  });
  try {
    const document = createOpenApiDocument(app, options);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
  } finally {
    await app.close();
  }
}
