// The Nest hello fixture of `npm run bench` (scenarios "framework floor" and "pipeline"):
// NestJS with its defaults and one route, nothing of ours on the request path, on Express
// (the default) or on Fastify (`HTTP_ADAPTER=fastify`).
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { loadNestHelloConfigFromProcess } from './config/nest-hello.config';
import { HelloModule } from './hello/hello.module';

async function main(): Promise<void> {
  const config = loadNestHelloConfigFromProcess();
  const app: INestApplication =
    config.adapter === 'fastify'
      ? await NestFactory.create(HelloModule, new FastifyAdapter(), { logger: false })
      : await NestFactory.create(HelloModule, { logger: false });
  await app.listen(config.port, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  process.stdout.write(`nest-hello listening on http://127.0.0.1:${port}\n`);
  const stop = () => void app.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

void main();
