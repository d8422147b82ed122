import { DependencyUnavailableError } from '@zt/service-chassis';

/** Node's codes for a connection that could not be made, or was lost. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * PostgreSQL's SQLSTATEs of a server that cannot serve now: class 08 (connection exception),
 * 57P01-57P03 (shutting down, crashed, starting up) and 53300 (too many connections).
 */
const UNAVAILABLE_STATES = /^(?:08[0-9A-Z]{3}|57P0[123]|53300)$/;

/** What `pg` throws, without a code, for a connection lost or never made; and its reason here. */
const DRIVER_MESSAGES: ReadonlyMap<string, string> = new Map([
  ['Connection terminated unexpectedly', 'connection_lost'],
  ['Connection terminated', 'connection_lost'],
  ['Connection terminated due to connection timeout', 'connect_timeout'],
  ['timeout exceeded when trying to connect', 'connect_timeout'],
  ['Client has encountered a connection error and is not queryable', 'connection_lost'],
]);

/**
 * The database server could not be reached, or could not serve the statement now. Answered
 * `503 {"error":"database unavailable"}` by the service (see `DependencyUnavailableError`),
 * never a 500: the caller may retry, and a write sent with an `Idempotency-Key` is then applied
 * once, whatever became of the first attempt.
 */
export class DatabaseUnavailableError extends DependencyUnavailableError {
  constructor(reason: string) {
    super('database', reason);
    this.name = 'DatabaseUnavailableError';
  }
}

/**
 * `error` as a {@link DatabaseUnavailableError} when it says that the server was out of reach;
 * `error` itself otherwise (a constraint, a syntax error, a domain error thrown by a
 * transaction's work), so that a fault of the code still shows as one.
 */
export function asDatabaseOutage(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || UNAVAILABLE_STATES.test(code))) {
    return new DatabaseUnavailableError(code);
  }
  const reason = DRIVER_MESSAGES.get(error.message);
  return reason === undefined ? error : new DatabaseUnavailableError(reason);
}
