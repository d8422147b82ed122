// The Nest hello fixture of `npm run bench` (scenario "framework floor"): NestJS with its
// defaults (Express platform) and one route, nothing of ours on the request path.
import { NestFactory } from '@nestjs/core';
import { loadNestHelloPortFromProcess } from './config/nest-hello.config';
import { HelloModule } from './hello/hello.module';

async function main(): Promise<void> {
  const app = await NestFactory.create(HelloModule, { logger: false });
  await app.listen(loadNestHelloPortFromProcess(), '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  process.stdout.write(`nest-hello listening on http://127.0.0.1:${port}\n`);
  const stop = () => void app.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

void main();
