import { PassThrough } from 'node:stream';
import { consoleFormatFor, StackConsole } from './stack-console';

const line = (fields: Record<string, unknown>) =>
  JSON.stringify({
    level: 'info',
    time: '2026-11-30T10:00:00.000Z',
    service: 'billing-server',
    pid: 7,
    ...fields,
  });

function consoleOf(format: 'text' | 'json', verbose = false) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const sut = new StackConsole({ format, verbose, source: 'start', stdout, stderr });
  const read = (stream: PassThrough) => () => String(stream.read() ?? '');
  return { sut, out: read(stdout), err: read(stderr) };
}

describe(StackConsole.name, () => {
  const boot = line({ context: 'RoutesResolver', msg: 'Mapped {/balance, GET} route' });
  const denied = line({ level: 'warn', event: 'internal_auth_denied', reason: 'mismatch' });
  const crash = 'TypeError: something broke';

  describe('in text', () => {
    it("shows its own lines and the services' warnings, errors and other lines, not their info", () => {
      const { sut, out, err } = consoleOf('text');
      sut.info('billing-server     ready at http://127.0.0.1:6004');
      sut.service('billing-server', { stream: 'stdout', text: boot });
      sut.service('billing-server', { stream: 'stdout', text: denied });
      sut.service('billing-server', { stream: 'stderr', text: crash });
      sut.error('billing-server stopped');
      expect(out().split('\n')).toEqual([
        '[start] billing-server     ready at http://127.0.0.1:6004',
        expect.stringMatching(
          /^\[billing-server\] \[\d\d:\d\d:\d\d\.\d{3}\] WARN: internal_auth_denied \{"event":"internal_auth_denied","reason":"mismatch"\}$/,
        ),
        '',
      ]);
      expect(err()).toBe(`[billing-server] ${crash}\n[start] billing-server stopped\n`);
    });

    it('shows every line when verbose', () => {
      const { sut, out } = consoleOf('text', true);
      sut.service('billing-server', { stream: 'stdout', text: boot });
      expect(out()).toMatch(
        /^\[billing-server\] \[[\d:.]+\] INFO: Mapped \{\/balance, GET\} route /,
      );
    });
  });

  describe('in json', () => {
    it('passes the JSON lines of the services through as they are, and makes every other line JSON', () => {
      const { sut, out, err } = consoleOf('json');
      sut.info('a first invite', { invite: 'x' });
      sut.service('billing-server', { stream: 'stdout', text: boot });
      sut.service('billing-server', { stream: 'stdout', text: denied });
      sut.service('billing-server', { stream: 'stderr', text: crash });
      sut.error('billing-server stopped');
      const lines = out().trimEnd().split('\n');
      expect(lines[1]).toBe(denied);
      expect(lines.map((text) => JSON.parse(text) as Record<string, unknown>)).toEqual([
        expect.objectContaining({
          level: 'info',
          service: 'start',
          msg: 'a first invite',
          invite: 'x',
        }),
        expect.objectContaining({ level: 'warn', service: 'billing-server' }),
        expect.objectContaining({ level: 'error', service: 'billing-server', msg: crash }),
        expect.objectContaining({
          level: 'error',
          service: 'start',
          msg: 'billing-server stopped',
        }),
      ]);
      expect(err()).toBe('');
    });
  });
});

describe(consoleFormatFor.name, () => {
  it('is text on a terminal and json otherwise, unless told', () => {
    expect(consoleFormatFor([], true)).toBe('text');
    expect(consoleFormatFor([], false)).toBe('json');
    expect(consoleFormatFor(['--json'], true)).toBe('json');
    expect(consoleFormatFor(['--text'], false)).toBe('text');
  });
});
