/** A parameter of a SQL statement: bound, never interpolated. */
export type SqlParameter = string | number | bigint | boolean | null | Date;

/** Rows returned by a statement, and how many rows it changed. */
export interface SqlResult<Row> {
  readonly rows: Row[];
  readonly rowCount: number;
}

/** Something that runs SQL: the database itself, or a transaction in progress. */
export interface SqlExecutor {
  /** Runs one statement with `$1, $2, ...` parameters. BIGINT columns come back as `bigint`. */
  query<Row = Record<string, unknown>>(
    sql: string,
    params?: readonly SqlParameter[],
  ): Promise<SqlResult<Row>>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

/**
 * A PostgreSQL database, either a server (`pg`) or embedded (PGlite). Both speak the same
 * SQL, run the same migrations and return BIGINT as `bigint`, so code above this interface
 * cannot tell them apart.
 */
export interface Database extends SqlExecutor {
  /** `pg` or `pglite`, for logs and health output. */
  readonly kind: 'pg' | 'pglite';
  /**
   * Requests sent to the database so far: every statement or script, and each transaction's
   * `BEGIN` and `COMMIT` (or `ROLLBACK`). Each is one round trip to a PostgreSQL server (one
   * call into PGlite), so this is what a change to the SQL saves or costs.
   */
  readonly roundTrips: number;
  /**
   * Runs `work` in one transaction: committed when it resolves, rolled back when it throws.
   * PGlite has one connection, so its transactions run one after another.
   */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Closes every connection. */
  close(): Promise<void>;
}
