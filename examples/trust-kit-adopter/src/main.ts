import { ConsoleLogger, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigError } from '@zt/service-utils';
import { AppModule } from './app.module';
import { loadOrdersConfigFromProcess, type OrdersConfig } from './config/orders.config';

async function bootstrap(): Promise<void> {
  let config: OrdersConfig;
  try {
    config = loadOrdersConfigFromProcess();
  } catch (error) {
    // Trust kit: a weak or missing token is one line that names the variable, and exit code 1.
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`configuration error: ${error.message}\n`);
    process.exitCode = 1;
    return;
  }
  // JSON log lines: each refusal of the kit's guard is then one structured line.
  const app = await NestFactory.create(AppModule.forRoot(config), {
    logger: new ConsoleLogger({ json: true }),
  });
  app.enableShutdownHooks();
  await app.listen(config.port, config.host);
  new Logger('orders').log(`listening on ${await app.getUrl()}`);
}

void bootstrap();
