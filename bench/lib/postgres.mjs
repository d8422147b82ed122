// PostgreSQL for the scenarios that need it: found or not (then those scenarios are
// skipped), and scratch databases the run creates and drops itself.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The server to use: BENCH_DATABASE_URL, else TEST_DATABASE_URL, else the local default. */
export function postgresAdminUrl() {
  return (
    process.env.BENCH_DATABASE_URL?.trim() ||
    process.env.TEST_DATABASE_URL?.trim() ||
    'postgresql://postgres@127.0.0.1:5432/postgres'
  );
}

/** `{ url, version }` when the server answers within 3 s, else `{ reason }`. */
export async function findPostgres(url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    const { rows } = await client.query('SHOW server_version');
    return { url, version: rows[0].server_version };
  } catch (error) {
    return { reason: `no PostgreSQL reachable (${error.message})` };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Scratch databases of one run; `dropAll()` removes every one still there. */
export class ScratchDatabases {
  #names = new Set();

  constructor(adminUrl) {
    this.adminUrl = adminUrl;
  }

  /** Creates an empty database and returns its URL. */
  async create() {
    const name = `zt_bench_${randomBytes(6).toString('hex')}`;
    await this.#admin(`CREATE DATABASE ${name}`);
    this.#names.add(name);
    const url = new URL(this.adminUrl);
    url.pathname = `/${name}`;
    return url.toString();
  }

  async dropAll() {
    for (const name of [...this.#names]) {
      await this.#admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      this.#names.delete(name);
    }
  }

  async #admin(sql) {
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
