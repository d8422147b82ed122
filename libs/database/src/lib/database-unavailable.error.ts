import { DependencyUnavailableError } from '@zt/service-chassis';

/** Node's codes for a connection that could not be made, or was lost (ENOENT: a Unix socket). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENOENT',
]);

/**
 * PostgreSQL's SQLSTATEs of a server that cannot serve now, listed one by one: class 08 also
 * holds 08P01 (protocol violation), which a statement given the wrong number of parameters
 * raises, a fault of our code.
 */
const UNAVAILABLE_STATES = new Set([
  '08000', // connection_exception
  '08001', // sqlclient_unable_to_establish_sqlconnection
  '08003', // connection_does_not_exist
  '08004', // sqlserver_rejected_establishment_of_sqlconnection
  '08006', // connection_failure
  '08007', // transaction_resolution_unknown
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, or in recovery)
  '53000', // insufficient_resources
  '53100', // disk_full
  '53200', // out_of_memory
  '53300', // too_many_connections
  '25006', // read_only_sql_transaction: a write reached a standby, after a failover
]);

/** What `pg` throws, without a code, for a connection lost or never made; and its reason here. */
const DRIVER_MESSAGES: ReadonlyMap<string, string> = new Map([
  ['Connection terminated unexpectedly', 'connection_lost'],
  ['Connection terminated', 'connection_lost'],
  ['Connection terminated due to connection timeout', 'connect_timeout'],
  // Every client of this process's pool stayed busy: the server may be fine, this process is
  // saturated (or every connection hangs). Its own reason, so an operator can tell.
  ['timeout exceeded when trying to connect', 'pool_exhausted'],
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
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || UNAVAILABLE_STATES.has(code))) {
    return new DatabaseUnavailableError(code);
  }
  const reason = DRIVER_MESSAGES.get(error.message);
  return reason === undefined ? error : new DatabaseUnavailableError(reason);
}
