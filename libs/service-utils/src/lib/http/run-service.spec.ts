import { Controller, Get, Logger, Module } from '@nestjs/common';
import { loadServiceConfig } from '../config/service.config';
import { createServiceApp } from './run-service';

@Controller()
class HelloController {
  @Get('hello')
  hello(): string {
    return 'hello';
  }
}

@Module({ controllers: [HelloController] })
class WithoutLoggingModule {}

describe(createServiceApp.name, () => {
  it('serves an application without LoggingModule, logging through the console logger', async () => {
    const written = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const service = loadServiceConfig(
      { LOG_FORMAT: 'json', LOG_LEVEL: 'info' },
      { name: 'bare-service', portVariable: 'BARE_PORT', defaultPort: 0 },
    );
    const app = await createServiceApp({
      service,
      module: { module: WithoutLoggingModule },
    });
    try {
      await app.listen(0, '127.0.0.1');
      const { port } = app.getHttpServer().address() as { port: number };
      const response = await fetch(`http://127.0.0.1:${port}/hello`);
      expect(await response.text()).toBe('hello');
      new Logger('Probe').log('console line');
      const lines = written.mock.calls.map(([chunk]) => String(chunk));
      expect(lines.some((line) => line.includes('"message":"console line"'))).toBe(true);
    } finally {
      written.mockRestore();
      await app.close();
    }
  });
});
