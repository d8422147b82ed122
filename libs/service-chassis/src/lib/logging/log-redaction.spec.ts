import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { LOG_REDACT_PATHS, LOGGED_REQUEST_HEADERS, REDACTED, redactUrl } from './log-redaction';
import { createServiceLogger, serializeRequest } from './service-logger';

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
    writes: 'sync',
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
    'keeps the secret headers of a logged headers object and secret fields out of %s lines',
    (format) => {
      const { lines, logger } = capture(format);
      logger.info(
        {
          headers: {
            'x-internal-token': SECRET,
            'X-INTERNAL-TOKEN': SECRET,
            authorization: `Bearer ${SECRET}`,
            Cookie: `session=${SECRET}`,
            'user-agent': 'test',
          },
          password: SECRET,
          access_token: SECRET,
          invite_code: SECRET,
          token: SECRET,
          email: 'a@example.com',
        },
        'something happened',
      );
      const output = lines.join('');
      expect(output).toContain('something happened');
      expect(output).not.toContain(SECRET);
      if (format === 'json') {
        const entry = JSON.parse(output) as Record<string, unknown>;
        expect(entry).toMatchObject({
          level: 'info',
          service: 'test-service',
          headers: {
            'x-internal-token': REDACTED,
            'X-INTERNAL-TOKEN': REDACTED,
            authorization: REDACTED,
            Cookie: REDACTED,
            'user-agent': 'test',
          },
          password: REDACTED,
          access_token: REDACTED,
          invite_code: REDACTED,
          token: REDACTED,
          email: 'a@example.com',
        });
      }
    },
  );

  it('writes a message with braces as it is in text lines, and an event in place of a message', () => {
    const { lines, logger } = capture('text');
    logger.info('Mapped {/balance/:user_id, GET} route');
    logger.warn({ event: 'internal_auth_denied', reason: 'missing' });
    expect(lines[0]).toContain('INFO: Mapped {/balance/:user_id, GET} route');
    expect(lines[1]).toContain('WARN: internal_auth_denied {');
  });

  it('has a path for each header and field the platform treats as secret', () => {
    expect(LOG_REDACT_PATHS).toEqual(
      expect.arrayContaining([
        'headers["x-internal-token"]',
        'headers["authorization"]',
        'headers["cookie"]',
        'password',
        'access_token',
        'invite_code',
        'token',
      ]),
    );
  });
});

describe(serializeRequest.name, () => {
  it('writes the allow-listed headers of a request and no other', () => {
    const request = Object.assign(new IncomingMessage(new Socket()), {
      method: 'POST',
      url: `/deduct?token=${SECRET}`,
      headers: {
        'x-internal-token': SECRET,
        authorization: `Bearer ${SECRET}`,
        cookie: `session=${SECRET}`,
        'x-api-key': SECRET,
        'proxy-authorization': SECRET,
        'user-agent': 'test',
        'content-type': 'application/json',
        'x-caller-service': 'backend',
        'x-user-id': 'u1',
      },
    });
    const logged = serializeRequest(request);
    expect(logged).toMatchObject({
      method: 'POST',
      url: '/deduct?token=[Redacted]',
      headers: {
        'user-agent': 'test',
        'content-type': 'application/json',
        'x-caller-service': 'backend',
        'x-user-id': 'u1',
      },
    });
    expect(Object.keys(logged['headers'] as object).sort()).toEqual(
      [...LOGGED_REQUEST_HEADERS].filter((name) => name !== 'content-length').sort(),
    );
    expect(JSON.stringify(logged)).not.toContain(SECRET);
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
