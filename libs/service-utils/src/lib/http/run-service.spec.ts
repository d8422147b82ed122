import { Controller, Get, Logger, Module, Param } from '@nestjs/common';
import { loadServiceConfig } from '../config/service.config';
import { createServiceApp } from './run-service';

@Controller()
class HelloController {
  @Get('hello')
  hello(): string {
    return 'hello';
  }

  @Get('echo/:word')
  echo(@Param('word') word: string): string {
    return word;
  }
}

@Module({ controllers: [HelloController] })
class WithoutLoggingModule {}

function bareService() {
  return loadServiceConfig(
    { LOG_FORMAT: 'json', LOG_LEVEL: 'info' },
    { name: 'bare-service', portVariable: 'BARE_PORT', defaultPort: 0 },
  );
}

describe(createServiceApp.name, () => {
  it('refuses a path with a malformed percent-encoding before routing, with a fixed answer', async () => {
    const written = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const app = await createServiceApp({
      service: bareService(),
      module: { module: WithoutLoggingModule },
    });
    try {
      await app.listen(0, '127.0.0.1');
      const { port } = app.getHttpServer().address() as { port: number };
      const get = async (path: string) => {
        const response = await fetch(`http://127.0.0.1:${port}${path}`);
        return { status: response.status, body: await response.text() };
      };
      const refused = { status: 400, body: '{"error":"malformed percent-encoding in the URL"}' };
      // In a route parameter, in an unknown path, truncated, not UTF-8, an encoded surrogate.
      for (const path of [
        '/echo/%3Cb%3E%zz',
        '/nowhere/%E0%A4%A',
        '/echo/a%2',
        '/echo/%ff',
        '/echo/%ED%A0%80',
      ]) {
        expect({ path, ...(await get(path)) }).toEqual({ path, ...refused });
      }
      // Well-formed escapes, and a malformed one in the query string, are routed as before.
      expect(await get('/echo/%41%2Fb')).toEqual({ status: 200, body: 'A/b' });
      expect(await get('/hello?q=%zz')).toEqual({ status: 200, body: 'hello' });
      const lines = written.mock.calls.map(([chunk]) => String(chunk));
      expect(lines.filter((line) => line.includes('malformed_url'))).toHaveLength(5);
      expect(lines.join('')).not.toContain('%3Cb%3E');
    } finally {
      written.mockRestore();
      await app.close();
    }
  });

  it('serves an application without LoggingModule, logging through the console logger', async () => {
    const written = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const app = await createServiceApp({
      service: bareService(),
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
