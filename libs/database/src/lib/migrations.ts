import type { Database } from './database';

/** One step of a schema's history. Never edit a migration that has shipped: add another. */
export interface Migration {
  /** Unique, sortable id, e.g. `001_accounts_and_ledger`. */
  readonly id: string;
  /** The SQL, run in one transaction. */
  readonly sql: string;
}

/**
 * Applies, in order, the migrations not yet recorded in `schema_migrations`, each in its own
 * transaction. An advisory lock makes instances that start together take turns.
 * @returns the ids applied by this call.
 */
export async function runMigrations(
  db: Database,
  migrations: readonly Migration[],
): Promise<string[]> {
  await db.query(
    `CREATE TABLE IF NOT EXISTS schema_migrations (
       id text PRIMARY KEY,
       applied_at timestamptz NOT NULL DEFAULT now()
     )`,
  );
  const applied: string[] = [];
  for (const migration of [...migrations].sort((a, b) => a.id.localeCompare(b.id))) {
    await db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('schema_migrations', 0))`);
      const done = await tx.query('SELECT 1 FROM schema_migrations WHERE id = $1', [migration.id]);
      if (done.rows.length > 0) return;
      await tx.exec(migration.sql);
      await tx.query('INSERT INTO schema_migrations (id) VALUES ($1)', [migration.id]);
      applied.push(migration.id);
    });
  }
  return applied;
}
