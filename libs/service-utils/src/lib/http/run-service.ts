import { ConsoleLogger, type DynamicModule, type INestApplication, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { ConfigError } from '../config/config.error';
import type { ServiceConfig } from '../config/service.config';

/** What `runService` needs: the validated shared settings and the root module built from them. */
export interface ServiceDefinition {
  readonly service: ServiceConfig;
  readonly module: DynamicModule;
}

/**
 * Creates a service's Nest application the way every service of the platform is created:
 * no body parser before the guard (JSON is read by `ServiceHttpModule`), no `X-Powered-By`,
 * the logger in the configured format, and shutdown hooks so resources close on SIGTERM.
 */
export async function createServiceApp(definition: ServiceDefinition): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(definition.module, {
    bodyParser: false,
    logger: createLogger(definition.service),
  });
  app.disable('x-powered-by');
  app.enableShutdownHooks();
  return app;
}

/**
 * Boots a service: builds its configuration (`load`), starts the application and logs the
 * address it listens on (`listening on http://host:port`, which the start script and the
 * end-to-end tests read). A configuration error ends the process with one line on stderr
 * that names the variable at fault, and exit code 1.
 */
export async function runService(
  load: () => ServiceDefinition,
): Promise<INestApplication | undefined> {
  let definition: ServiceDefinition;
  try {
    definition = load();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`configuration error: ${error.message}\n`);
      process.exitCode = 1;
      return undefined;
    }
    throw error;
  }
  const { service } = definition;
  const app = await createServiceApp(definition);
  await app.listen(service.port, service.host);
  const address = app.getHttpServer().address() as { port: number };
  new Logger(service.name).log(
    `${service.name} listening on http://${service.host}:${address.port}`,
  );
  return app;
}

function createLogger(service: ServiceConfig): ConsoleLogger {
  return new ConsoleLogger(service.name, {
    json: service.logFormat === 'json',
    colors: false,
    compact: true,
  });
}
