import { Pool, type PoolClient, types } from 'pg';
import type { Database, SqlExecutor, SqlParameter, SqlResult } from './database';
import { asDatabaseOutage, DatabaseUnavailableError } from './database-unavailable.error';

const INT8_OID = 20;

/**
 * A {@link Database} on a PostgreSQL server through a `pg` connection pool. A server out of
 * reach (refused, lost, shutting down) rejects with `DatabaseUnavailableError`; every other
 * error is passed on as `pg` gave it.
 */
export class PgDatabase implements Database {
  readonly kind = 'pg';
  private sent = 0;

  private constructor(private readonly pool: Pool) {}

  /**
   * Connects to `url`, with every connection's `search_path` set to `schema` (created if
   * missing), so that several services can share one database without sharing tables.
   */
  static async connect(url: string, schema: string): Promise<PgDatabase> {
    const pool = new Pool({
      connectionString: url,
      max: 10,
      connectionTimeoutMillis: 5_000,
      options: `-c search_path=${quoteIdentifier(schema)}`,
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === INT8_OID
            ? (value: string) => BigInt(value)
            : types.getTypeParser(oid, format)) as typeof types.getTypeParser,
      },
    });
    // An idle client that loses its server must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    const database = new PgDatabase(pool);
    // Straight to the pool: at boot, the driver's own error (which host refused) says more to an
    // operator than a 503 would; it names no password.
    database.sent += 1;
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(schema)}`);
    return database;
  }

  get roundTrips(): number {
    return this.sent;
  }

  query<Row>(sql: string, params: readonly SqlParameter[] = []): Promise<SqlResult<Row>> {
    this.sent += 1;
    return runQuery<Row>(this.pool, sql, params);
  }

  async exec(sql: string): Promise<void> {
    this.sent += 1;
    await this.pool.query(sql).catch(rethrowAsOutage);
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.pool.connect().catch(rethrowAsOutage);
    let broken: Error | undefined;
    // The pool listens for errors of idle clients only: a connection lost between two
    // statements of this transaction would otherwise be an unhandled 'error' event, which
    // ends the process. The next statement then fails, and the client is not reused. The first
    // error is the one that says why (pg follows it with "Connection terminated unexpectedly").
    let lostWith: Error | undefined;
    const lost = (error: Error) => {
      lostWith ??= error;
    };
    client.on('error', lost);
    try {
      this.sent += 1;
      await client.query('BEGIN').catch(rethrowAsOutage);
      const result = await work({
        query: (sql, params = []) => {
          this.sent += 1;
          return runQuery(client, sql, params);
        },
        exec: async (sql) => {
          this.sent += 1;
          await client.query(sql).catch(rethrowAsOutage);
        },
      });
      this.sent += 1;
      // Lost here, the outcome is unknown: a retry with the same idempotency key settles it.
      await client.query('COMMIT').catch(rethrowAsOutage);
      return result;
    } catch (error) {
      this.sent += 1;
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      // After a lost connection, the statement that failed says only that the client is "not
      // queryable"; the error that ended the connection says why (and a session ended for a
      // fault of ours, such as idle_in_transaction_session_timeout, stays that fault).
      throw lostWith !== undefined && error instanceof DatabaseUnavailableError
        ? asDatabaseOutage(lostWith)
        : error;
    } finally {
      // A client whose connection was lost or whose rollback failed is in an unknown state:
      // it is destroyed rather than given back to the pool.
      client.off('error', lost);
      client.release(lostWith ?? broken);
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

async function runQuery<Row>(
  target: Pool | PoolClient,
  sql: string,
  params: readonly SqlParameter[],
): Promise<SqlResult<Row>> {
  try {
    const result = await target.query(sql, params as unknown[]);
    return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
  } catch (error) {
    throw asDatabaseOutage(error);
  }
}

function rethrowAsOutage(error: unknown): never {
  throw asDatabaseOutage(error);
}

/** Quotes a SQL identifier (schema names come from code, but quoting costs nothing). */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
