import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { testDatabaseAdminUrl } from './config/test-environment';

/** A storage backend a database suite runs against. */
export type TestBackend = 'pglite' | 'postgres';

/**
 * The backends to run database suites against: PGlite always; PostgreSQL too when
 * `TEST_DATABASE_URL` is set. Use with `describe.each`.
 */
export function testBackends(): TestBackend[] {
  return testDatabaseAdminUrl() ? ['pglite', 'postgres'] : ['pglite'];
}

/** A PostgreSQL database created for one suite. */
export interface ScratchDatabase {
  readonly url: string;
  /** Drops the database (closing any connection still open to it). */
  drop(): Promise<void>;
}

/** Creates an empty, uniquely named PostgreSQL database on the `TEST_DATABASE_URL` server. */
export async function createScratchDatabase(): Promise<ScratchDatabase> {
  const adminUrl = testDatabaseAdminUrl();
  if (!adminUrl) throw new Error('TEST_DATABASE_URL is not set');
  const name = `zt_test_${randomBytes(6).toString('hex')}`;
  await withAdmin(adminUrl, (admin) => admin.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () =>
      withAdmin(adminUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
  };
}

async function withAdmin(url: string, work: (client: Client) => Promise<unknown>): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}

/**
 * A database for one suite on `backend`: for PostgreSQL a scratch database (its URL, and
 * `drop` to remove it); for PGlite no URL, meaning "embedded" to whoever opens it.
 */
export async function scratchDatabaseFor(
  backend: TestBackend,
): Promise<{ url: string | undefined; drop(): Promise<void> }> {
  if (backend === 'pglite') return { url: undefined, drop: async () => undefined };
  return createScratchDatabase();
}
