import { Client } from 'pg';
import { testDatabaseAdminUrl } from './config/test-environment';
import { createScratchDatabase, scratchDatabaseFor, testBackends } from './test-databases';

describe('test databases', () => {
  it('always includes PGlite, and PostgreSQL exactly when TEST_DATABASE_URL is set', () => {
    expect(testBackends()).toEqual(testDatabaseAdminUrl() ? ['pglite', 'postgres'] : ['pglite']);
  });

  it('gives PGlite suites no URL (embedded)', async () => {
    expect((await scratchDatabaseFor('pglite')).url).toBeUndefined();
  });

  // Only meaningful with a server: registered only when there is one.
  if (testDatabaseAdminUrl()) {
    it('creates a PostgreSQL database that exists until dropped', async () => {
      const scratch = await createScratchDatabase();
      const client = new Client({ connectionString: scratch.url });
      await client.connect();
      const name = (await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0]
        .db;
      await client.end();
      expect(name).toMatch(/^zt_test_[0-9a-f]{12}$/);
      await scratch.drop();
      const admin = new Client({ connectionString: testDatabaseAdminUrl() });
      await admin.connect();
      const left = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      await admin.end();
      expect(left.rowCount).toBe(0);
    });
  }
});
