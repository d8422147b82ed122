import type { LoggerService } from '@nestjs/common';
import { QuietBootLogger } from './quiet-boot.logger';

describe(QuietBootLogger.name, () => {
  const calls: Array<[string, unknown[]]> = [];
  const inner: LoggerService = {
    log: (...args: unknown[]) => calls.push(['log', args]),
    error: (...args: unknown[]) => calls.push(['error', args]),
    warn: (...args: unknown[]) => calls.push(['warn', args]),
    debug: (...args: unknown[]) => calls.push(['debug', args]),
  };
  const sut = new QuietBootLogger(inner);

  beforeEach(() => (calls.length = 0));

  it("moves Nest's boot lines to debug", () => {
    sut.log('Mapped {/balance/:user_id, GET} route', 'RouterExplorer');
    sut.log('AppModule dependencies initialized', 'InstanceLoader');
    sut.log('Nest application successfully started', 'NestApplication');
    expect(calls.map(([level]) => level)).toEqual(['debug', 'debug', 'debug']);
    expect(calls[0][1]).toEqual(['Mapped {/balance/:user_id, GET} route', 'RouterExplorer']);
  });

  it("keeps every other line at its level, the service's own info lines included", () => {
    sut.log('listening on http://127.0.0.1:6004', 'Bootstrap');
    sut.log({ event: 'write_settled' }, 'WriteSettlement');
    sut.log('no context');
    sut.warn('refused', 'InternalTokenGuard');
    sut.error('failed', 'RoutesResolver');
    expect(calls.map(([level]) => level)).toEqual(['log', 'log', 'log', 'warn', 'error']);
  });
});
