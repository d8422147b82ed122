// PostgreSQL for the scenarios that need it: found or not (then those scenarios are
// skipped), and scratch databases the run creates and drops itself.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export { postgresAdminUrl } from '../config/runner.config';

/** The server when it answered, or why not. */
export type PostgresFound =
  | { readonly url: string; readonly version: string; readonly reason?: undefined }
  | { readonly url?: undefined; readonly version?: undefined; readonly reason: string };

/** `{ url, version }` when the server answers within 3 s, else `{ reason }`. */
export async function findPostgres(url: string): Promise<PostgresFound> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return { url, version: rows[0].server_version };
  } catch (error) {
    return { reason: `no PostgreSQL reachable (${messageOf(error)})` };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Scratch databases of one run; `dropAll()` removes every one still there. */
export class ScratchDatabases {
  #names = new Set<string>();

  constructor(readonly adminUrl: string) {}

  /** Creates an empty database and returns its URL. */
  async create(): Promise<string> {
    const name = `zt_bench_${randomBytes(6).toString('hex')}`;
    await this.#admin(`CREATE DATABASE ${name}`);
    this.#names.add(name);
    const url = new URL(this.adminUrl);
    url.pathname = `/${name}`;
    return url.toString();
  }

  async dropAll(): Promise<void> {
    for (const name of [...this.#names]) {
      await this.#admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      this.#names.delete(name);
    }
  }

  async #admin(sql: string): Promise<void> {
    const client = new pg.Client({
      connectionString: this.adminUrl,
      connectionTimeoutMillis: 5000,
    });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }
}

/** The message of something thrown (an Error's, else its text). */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
