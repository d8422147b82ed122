import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import type { LogLevel, LogWrites } from '../config/service.config';
import { matchedRoute } from '../http/matched-route';
import { LOG_REDACT_PATHS, LOGGED_REQUEST_HEADERS, REDACTED, redactUrl } from './log-redaction';

/** How a service logs. */
export interface ServiceLoggerOptions {
  /** The service's name, written as `service` on every line (JSON). */
  readonly name: string;
  /** `json`: one JSON object a line (production); `text`: one readable line per entry (a terminal). */
  readonly format: 'json' | 'text';
  /** The least severe level written. */
  readonly level: LogLevel;
  /**
   * JSON lines to standard output: `buffered` in the background (flushed on exit) or `sync`.
   * The `text` format and a given `destination` are always written synchronously.
   */
  readonly writes: LogWrites;
  /** Where lines go; standard output when absent (tests pass a stream to read them). */
  readonly destination?: Writable;
}

/**
 * The root pino logger of a service. JSON lines carry `time` (ISO 8601), `level` (a label),
 * `service` and `pid`; the `text` format is pino-pretty on one line per entry. Both redact
 * credentials ({@link LOG_REDACT_PATHS}) before a line is written. JSON lines to standard
 * output are written as {@link ServiceLoggerOptions.writes} says; buffered lines are flushed by
 * pino when the process exits (`exit`, an uncaught exception, SIGTERM and SIGINT included),
 * so only a process killed outright (SIGKILL, out of memory) can lose the last of them.
 */
export function createServiceLogger(options: ServiceLoggerOptions): Logger {
  const base: pino.LoggerOptions = {
    level: options.level,
    base: { service: options.name, pid: process.pid },
    redact: { paths: [...LOG_REDACT_PATHS], censor: REDACTED },
    serializers: { err: pino.stdSerializers.err },
  };
  if (options.format === 'text') {
    return pino(
      base,
      pinoPretty({
        sync: true,
        colorize: false,
        singleLine: true,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname,service,req.headers',
        // Structured events have no msg: show their name in its place. A function, not a
        // template: a template would also expand `{...}` inside the message itself (Nest's
        // "Mapped {/balance/:user_id, GET} route" lost its route).
        messageFormat: (log) => String(log['msg'] ?? log['event'] ?? ''),
        destination: options.destination ?? 1,
      }),
    );
  }
  return pino(
    {
      ...base,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ fd: 1, sync: options.writes === 'sync' }),
  );
}

/** A request as Express leaves it. */
type LoggedRequest = IncomingMessage & { originalUrl?: string };

/**
 * How a request appears in the `request completed` line: method, URL (secret-looking query
 * values redacted), the route pattern that matched, the remote address and the headers of
 * {@link LOGGED_REQUEST_HEADERS} it has. Never the body, never another header.
 */
export function serializeRequest(request: LoggedRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: redactUrl(request.originalUrl ?? request.url ?? ''),
    route: matchedRoute(request),
    remote_address: request.socket?.remoteAddress,
    headers: loggedHeaders(request),
  };
}

function loggedHeaders(request: IncomingMessage): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const name of LOGGED_REQUEST_HEADERS) {
    const value = request.headers[name];
    if (value !== undefined) headers[name] = value;
  }
  return headers;
}

/** How an answer appears in the `request completed` line: its status. */
export function serializeResponse(response: ServerResponse): Record<string, unknown> {
  return { status_code: response.statusCode };
}
