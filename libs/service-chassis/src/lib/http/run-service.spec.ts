import { Controller, Get, Logger, Module, Param } from '@nestjs/common';
import { ConfigError } from '@zt/service-utils';
import { connect } from 'node:net';
import { loadServiceConfig } from '../config/service.config';
import { createServiceApp, runService } from './run-service';
import { MAX_HEADER_LINES } from './too-many-headers';
import { HTTP_ADAPTERS, type HttpAdapterKind } from './http-adapter';

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

/** Sends a GET with exactly these header lines over a raw socket; resolves with the status line. */
function getWithHeaderLines(port: number, lines: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`GET /hello HTTP/1.1\r\n${lines.map((line) => `${line}\r\n`).join('')}\r\n`);
    });
    let answer = '';
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      if (answer.includes('\r\n\r\n')) {
        socket.destroy();
        resolve(answer.slice(0, answer.indexOf('\r\n')));
      }
    });
    socket.on('error', reject);
  });
}

function bareService(adapter: HttpAdapterKind) {
  return loadServiceConfig(
    { LOG_FORMAT: 'json', LOG_LEVEL: 'info', HTTP_ADAPTER: adapter },
    { name: 'bare-service', portVariable: 'BARE_PORT', defaultPort: 0 },
  );
}

/**
 * Runs `check` against a bare service (no LoggingModule) listening on a free port, with what
 * it writes to standard output captured as lines.
 */
async function withBareService(
  adapter: HttpAdapterKind,
  check: (port: number, lines: () => string[]) => Promise<void>,
): Promise<void> {
  const written = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const app = await createServiceApp({
    service: bareService(adapter),
    module: { module: WithoutLoggingModule },
  });
  try {
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as { port: number };
    await check(port, () => written.mock.calls.map(([chunk]) => String(chunk)));
  } finally {
    written.mockRestore();
    await app.close();
  }
}

describe.each(HTTP_ADAPTERS)(`${createServiceApp.name} on %s`, (adapter) => {
  it('refuses a path with a malformed percent-encoding before routing, with a fixed answer', () =>
    withBareService(adapter, async (port, lines) => {
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
      expect(lines().filter((line) => line.includes('malformed_url'))).toHaveLength(5);
      expect(lines().join('')).not.toContain('%3Cb%3E');
    }));

  it('refuses a request with more header lines than the limit (431), however they are padded', () =>
    withBareService(adapter, async (port, lines) => {
      const filler = (count: number) => Array.from({ length: count }, (_, i) => `X-Filler-${i}: x`);
      // A repeated credential after 1,000 filler lines: Node would keep only the first 2,000
      // lines of a longer request, so nothing after the limit may be trusted to be seen.
      const padded = [
        'Host: localhost',
        'X-INTERNAL-TOKEN: one',
        ...filler(1000),
        'X-INTERNAL-TOKEN: two',
      ];
      expect(await getWithHeaderLines(port, padded)).toBe(
        'HTTP/1.1 431 Request Header Fields Too Large',
      );
      // Past Node's own count (2,000 kept), in short lines that stay under its 16 KiB cap.
      const short = Array.from({ length: 2500 }, () => 'a:x');
      expect(await getWithHeaderLines(port, ['Host: localhost', ...short])).toBe(
        'HTTP/1.1 431 Request Header Fields Too Large',
      );
      // Exactly the limit is routed as usual.
      expect(
        await getWithHeaderLines(port, ['Host: localhost', ...filler(MAX_HEADER_LINES - 1)]),
      ).toBe('HTTP/1.1 200 OK');
      expect(lines().filter((line) => line.includes('too_many_headers'))).toHaveLength(2);
    }));

  it('serves an application without LoggingModule, logging through the console logger', () =>
    withBareService(adapter, async (port, lines) => {
      const response = await fetch(`http://127.0.0.1:${port}/hello`);
      expect(await response.text()).toBe('hello');
      // Nothing says which framework answers.
      expect(response.headers.get('x-powered-by')).toBeNull();
      new Logger('Probe').log('console line');
      expect(lines().some((line) => line.includes('"message":"console line"'))).toBe(true);
    }));
});

describe(runService.name, () => {
  it.each(HTTP_ADAPTERS)(
    'names its address and its adapter (%s) in its ready line',
    async (adapter) => {
      const written = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
      const app = await runService(
        () => ({ service: bareService(adapter), module: { module: WithoutLoggingModule } }),
        [],
      );
      try {
        const { port } = app?.getHttpServer().address() as { port: number };
        const lines = written.mock.calls.map(([chunk]) => String(chunk));
        expect(lines.filter((line) => line.includes('listening on'))).toEqual([
          expect.stringContaining(
            `bare-service listening on http://127.0.0.1:${port} (${adapter})`,
          ),
        ]);
      } finally {
        written.mockRestore();
        await app?.close();
      }
    },
  );

  it('ends with one line naming the variable and exit code 1 when loading the configuration fails', async () => {
    const written = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const exitCodeBefore = process.exitCode;
    try {
      const app = await runService(async () => {
        await Promise.resolve();
        throw new ConfigError('BARE_PORT', 'must be a whole number between 0 and 65535');
      }, []);

      expect(app).toBeUndefined();
      expect(process.exitCode).toBe(1);
      expect(written.mock.calls.map(([chunk]) => String(chunk))).toEqual([
        'configuration error: BARE_PORT must be a whole number between 0 and 65535\n',
      ]);
    } finally {
      written.mockRestore();
      process.exitCode = exitCodeBefore;
    }
  });
});
