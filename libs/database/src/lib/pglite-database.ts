import { PGlite, type Transaction } from '@electric-sql/pglite';
import { realpathSync } from 'node:fs';
import type { Database, SqlExecutor, SqlParameter, SqlResult } from './database';
import { initialisePgliteDirectory } from './initialise-pglite-directory';
import { quoteIdentifier } from './pg-database';

const INT8_OID = 20;

// PostgreSQL's default 128 MB of shared buffers is resident memory in every process that
// embeds a database; these small stores need far less (measured: a reopened store's process
// 304 -> 187 MiB, see docs/benchmarks).
const POSTGRESQL_CONF = ['shared_buffers=16MB'];

/** A {@link Database} embedded in the process (PostgreSQL compiled to WebAssembly). */
export class PgliteDatabase implements Database {
  readonly kind = 'pglite';
  private sent = 0;

  private constructor(private readonly db: PGlite) {}

  /**
   * Opens (creating if needed) the database stored in `directory`, or an in-memory one when
   * `directory` is undefined, and sets its `search_path` to `schema`.
   */
  static async open(directory: string | undefined, schema: string): Promise<PgliteDatabase> {
    // A new folder gets its initdb in a short-lived child process: run here, it would leave
    // hundreds of MiB resident in the service for good (see initialisePgliteDirectory).
    if (directory) await initialisePgliteDirectory(directory, POSTGRESQL_CONF);
    // PGlite returns small BIGINTs as numbers by default; pin them to bigint as pg does here.
    // The real path: PGlite's file system cannot follow a symlink (a data folder on a volume).
    const db = await PGlite.create(directory && realpathSync(directory), {
      parsers: { [INT8_OID]: (value: string) => BigInt(value) },
      postgresqlconf: POSTGRESQL_CONF,
    });
    await db.exec(
      `CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(schema)}; SET search_path TO ${quoteIdentifier(schema)};`,
    );
    return new PgliteDatabase(db);
  }

  get roundTrips(): number {
    return this.sent;
  }

  query<Row>(sql: string, params: readonly SqlParameter[] = []): Promise<SqlResult<Row>> {
    this.sent += 1;
    return runQuery<Row>(this.db, sql, params);
  }

  async exec(sql: string): Promise<void> {
    this.sent += 1;
    await this.db.exec(sql);
  }

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    // PGlite's transaction() sends BEGIN, then COMMIT or ROLLBACK.
    this.sent += 2;
    return this.db.transaction((tx) =>
      work({
        query: (sql, params = []) => {
          this.sent += 1;
          return runQuery(tx, sql, params);
        },
        exec: async (sql) => {
          this.sent += 1;
          await tx.exec(sql);
        },
      }),
    );
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

async function runQuery<Row>(
  target: PGlite | Transaction,
  sql: string,
  params: readonly SqlParameter[],
): Promise<SqlResult<Row>> {
  const result = await target.query<Row>(sql, params as unknown[]);
  // pg counts the rows a SELECT returns; PGlite reports 0 affected rows for it. Count as pg does.
  return { rows: result.rows, rowCount: result.affectedRows || result.rows.length };
}
