import { join } from 'node:path';
import type { Database } from './database';
import { PgDatabase } from './pg-database';
import { PgliteDatabase } from './pglite-database';

/** Where a service keeps its data. */
export interface DatabaseOptions {
  /** PostgreSQL server URL (`DATABASE_URL`); when absent, an embedded PGlite database is used. */
  readonly url?: string;
  /** Folder for the embedded database (`DATA_DIR/<service>/pgdata`); in memory when absent. */
  readonly embeddedDirectory?: string;
  /** The schema holding this service's tables, e.g. `billing`. */
  readonly schema: string;
}

/** Opens the PostgreSQL server at `url`, or the embedded database when there is none. */
export function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.url
    ? PgDatabase.connect(options.url, options.schema)
    : PgliteDatabase.open(options.embeddedDirectory, options.schema);
}

/** The conventional folder of a service's embedded database under its data folder. */
export function embeddedDatabaseDirectory(serviceDataDir: string): string {
  return join(serviceDataDir, 'pgdata');
}
