import { Writable } from 'node:stream';
import { LOG_REDACT_PATHS, REDACTED, redactUrl } from './log-redaction';
import { createServiceLogger } from './service-logger';

const SECRET = 'S3cr3t-V4lue-Th4t-Must-N3ver-Be-L0gged';

function capture(format: 'json' | 'text'): {
  lines: string[];
  logger: ReturnType<typeof createServiceLogger>;
} {
  const lines: string[] = [];
  const logger = createServiceLogger({
    name: 'test-service',
    format,
    level: 'info',
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    }),
  });
  return { lines, logger };
}

describe('log redaction', () => {
  it.each(['json', 'text'] as const)(
    'keeps credentials in headers and secret fields in bodies out of %s lines',
    (format) => {
      const { lines, logger } = capture(format);
      logger.info(
        {
          req: {
            method: 'POST',
            url: '/register',
            headers: {
              'x-internal-token': SECRET,
              authorization: `Bearer ${SECRET}`,
              cookie: `session=${SECRET}`,
              'user-agent': 'test',
            },
            body: { email: 'a@example.com', password: SECRET, invite_code: SECRET },
          },
          body: { access_token: SECRET, token: SECRET },
          config: { headers: { 'X-INTERNAL-TOKEN': SECRET } },
          password: SECRET,
          upstream: { refresh_token: SECRET },
        },
        'request completed',
      );
      const output = lines.join('');
      expect(output).toContain('request completed');
      expect(output).not.toContain(SECRET);
      if (format === 'json') {
        const entry = JSON.parse(output) as {
          req: { headers: Record<string, string>; body: Record<string, string> };
          level: string;
          service: string;
        };
        expect(entry).toMatchObject({ level: 'info', service: 'test-service' });
        expect(entry.req.headers).toEqual({
          'x-internal-token': REDACTED,
          authorization: REDACTED,
          cookie: REDACTED,
          'user-agent': 'test',
        });
        expect(entry.req.body).toEqual({
          email: 'a@example.com',
          password: REDACTED,
          invite_code: REDACTED,
        });
      }
    },
  );

  it('has a path for each header and field the platform treats as secret', () => {
    expect(LOG_REDACT_PATHS).toEqual(
      expect.arrayContaining([
        'req.headers["x-internal-token"]',
        'req.headers["authorization"]',
        'req.headers["cookie"]',
        'req.body.password',
        'req.body.access_token',
        'req.body.invite_code',
        'req.body.token',
      ]),
    );
  });
});

describe(redactUrl.name, () => {
  it.each([
    ['/balance/u1', '/balance/u1'],
    ['/ledger/u1?limit=10&before=42', '/ledger/u1?limit=10&before=42'],
    [`/balance/u1?token=${SECRET}`, '/balance/u1?token=[Redacted]'],
    [`/x?limit=1&access_token=${SECRET}&a=b`, '/x?limit=1&access_token=[Redacted]&a=b'],
    [`/x?Password=${SECRET}`, '/x?Password=[Redacted]'],
    [`/x?api%5Fkey=${SECRET}`, '/x?api%5Fkey=[Redacted]'],
    [`/x?invite_code=${SECRET}`, '/x?invite_code=[Redacted]'],
  ])('logs %s as %s', (url, logged) => {
    expect(redactUrl(url)).toBe(logged);
  });
});
