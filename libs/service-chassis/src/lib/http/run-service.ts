import {
  ConsoleLogger,
  type DynamicModule,
  type INestApplication,
  Logger,
  type LoggerService,
} from '@nestjs/common';
import { ModuleRef, NestFactory } from '@nestjs/core';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import { QuietBootLogger } from '../logging/quiet-boot.logger';
import { ConfigError } from '@zt/service-utils';
import type { ServiceConfig } from '../config/service.config';
import { serveOpenApiDocs } from '../openapi/openapi-docs';
import type { OpenApiOptions } from '../openapi/openapi.options';
import { writeOpenApiDocument } from '../openapi/write-openapi';
import { createHttpAdapter } from './http-adapter';

/** What `runService` needs: the validated shared settings and the root module built from them. */
export interface ServiceDefinition {
  readonly service: ServiceConfig;
  /**
   * The root module. When it imports `LoggingModule`, the application logs through pino;
   * otherwise through Nest's console logger in the configured format.
   */
  readonly module: DynamicModule;
  /**
   * How the service describes its API (`--write-openapi`), and whether it serves docs
   * (`docsPath`). Without it the service serves no docs and cannot write a document.
   */
  readonly openApi?: OpenApiOptions;
  /**
   * The module to describe with `--write-openapi`: the same routes without local state (an
   * in-memory database), so that writing the document touches no data. Default: `module`.
   */
  readonly documentModule?: () => DynamicModule;
}

/** The command-line option that makes a service write its OpenAPI document and exit. */
export const WRITE_OPENAPI_OPTION = '--write-openapi=';

/**
 * Creates a service's Nest application the way every service of the platform is created:
 * on the HTTP adapter the configuration names (`HTTP_ADAPTER`, Express or Fastify; see
 * `createHttpAdapter`), with no body parser before the guard (JSON is read by
 * `ServiceHttpModule`), no `X-Powered-By`, a request with too many header lines (431) or a
 * path with a malformed percent-encoding (400) refused before routing,
 * pino as the logger (from the module's `LoggingModule`; lines logged while booting are
 * buffered until it is in place, and Nest's own boot lines are at debug level), the OpenAPI docs when the service serves them, and
 * shutdown hooks so resources close on SIGTERM and SIGINT, then `process.exit(0)` (which
 * flushes buffered log lines).
 */
export async function createServiceApp(definition: ServiceDefinition): Promise<INestApplication> {
  const app = await NestFactory.create(
    definition.module,
    await createHttpAdapter(definition.service.httpAdapter),
    {
      bodyParser: false,
      // Until pino is in place, lines wait in a buffer; if the application fails to start,
      // they (and the error) go to the console logger, in the configured format.
      bufferLogs: true,
      logger: consoleLogger(definition.service),
    },
  );
  app.useLogger(serviceLogger(app, definition.service));
  app.flushLogs();
  // process.exit() after the shutdown hooks, instead of dying by the signal again: the exit
  // event is what flushes buffered log lines (with LOG_WRITES=buffered).
  app.enableShutdownHooks([], { useProcessExit: true });
  if (definition.openApi) serveOpenApiDocs(app, definition.openApi);
  return app;
}

function serviceLogger(app: INestApplication, service: ServiceConfig): LoggerService {
  try {
    // Asked through ModuleRef: a failed `app.get` ends the process (Nest wraps the
    // application's methods in its exception zone), a failed `ModuleRef.get` only throws.
    return new QuietBootLogger(app.get(ModuleRef).get(PinoNestLogger, { strict: false }));
  } catch {
    // No LoggingModule in this application: Nest's own logger, in the configured format.
    return consoleLogger(service);
  }
}

function consoleLogger(service: ServiceConfig): ConsoleLogger {
  return new ConsoleLogger(service.name, {
    json: service.logFormat === 'json',
    colors: false,
    compact: true,
  });
}

/**
 * Boots a service: builds its configuration (`load`, e.g. through
 * `loadServiceConfigModule`), starts the application and logs the address it listens on
 * and the HTTP adapter it runs on (`listening on http://host:port (express)`; the start
 * script and the end-to-end tests read the address).
 * A configuration error (`ConfigError`, thrown or rejected by `load`) ends the process with
 * one line on stderr that names the variable at fault, and exit code 1.
 *
 * Started with `--write-openapi=<file>`, it writes the service's OpenAPI document to `file`
 * instead, without listening, and exits (`npm run openapi`).
 */
export async function runService(
  load: () => ServiceDefinition | Promise<ServiceDefinition>,
  argv: readonly string[] = process.argv,
): Promise<INestApplication | undefined> {
  let definition: ServiceDefinition;
  try {
    definition = await load();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`configuration error: ${error.message}\n`);
      process.exitCode = 1;
      return undefined;
    }
    throw error;
  }

  const openApiFile = argv
    .find((arg) => arg.startsWith(WRITE_OPENAPI_OPTION))
    ?.slice(WRITE_OPENAPI_OPTION.length);
  if (openApiFile !== undefined) {
    if (!definition.openApi) {
      process.stderr.write(`${definition.service.name} has no OpenAPI description\n`);
      process.exitCode = 1;
      return undefined;
    }
    await writeOpenApiDocument(
      definition.documentModule?.() ?? definition.module,
      definition.openApi,
      openApiFile,
    );
    return undefined;
  }

  const { service } = definition;
  const app = await createServiceApp(definition);
  await app.listen(service.port, service.host);
  const address = app.getHttpServer().address() as { port: number };
  // The adapter in the line: an operator sees which one HTTP_ADAPTER chose.
  new Logger(service.name).log(
    `${service.name} listening on http://${service.host}:${address.port} (${service.httpAdapter})`,
  );
  return app;
}
