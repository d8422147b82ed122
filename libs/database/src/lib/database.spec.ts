import { scratchDatabaseFor, testBackends } from '@zt/test-kit';
import { Client } from 'pg';
import type { Database } from './database';
import { runMigrations } from './migrations';
import { openDatabase } from './open-database';

describe.each(testBackends())('Database on %s', (backend) => {
  let sut: Database;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const scratch = await scratchDatabaseFor(backend);
    drop = scratch.drop;
    sut = await openDatabase({ url: scratch.url, schema: 'spec' });
    await sut.exec('CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL)');
  });

  afterAll(async () => {
    await sut.close();
    await drop();
  });

  it('reports which engine it is', () => {
    expect(sut.kind).toBe(backend === 'postgres' ? 'pg' : 'pglite');
  });

  it('keeps the embedded store small: 16 MB of shared buffers, not 128', async () => {
    const result = await sut.query<{ shared_buffers: string }>('SHOW shared_buffers');
    if (backend === 'pglite') expect(result.rows).toEqual([{ shared_buffers: '16MB' }]);
    else expect(result.rows).toHaveLength(1); // the server's own setting, not ours to choose
  });

  it('returns BIGINT as bigint, exactly, whatever its size', async () => {
    const result = await sut.query<{ small: bigint; large: bigint }>(
      'SELECT 1::bigint AS small, 9007199254740993::bigint AS large',
    );
    expect(result.rows[0]).toEqual({ small: 1n, large: 9007199254740993n });
  });

  it('binds parameters instead of interpolating them', async () => {
    const hostile = "x'); DROP TABLE items; --";
    await sut.query('INSERT INTO items (id, name) VALUES ($1, $2)', ['1', hostile]);
    const result = await sut.query<{ name: string }>('SELECT name FROM items WHERE id = $1', ['1']);
    expect(result.rows).toEqual([{ name: hostile }]);
  });

  it('counts rows the way pg does: changed rows for writes, returned rows for reads', async () => {
    await sut.query("INSERT INTO items (id, name) VALUES (2, 'b'), (3, 'c')");
    expect((await sut.query("UPDATE items SET name = 'z' WHERE id > 1")).rowCount).toBe(2);
    expect((await sut.query('SELECT * FROM items WHERE id > 1')).rowCount).toBe(2);
    expect((await sut.query('UPDATE items SET name = $1 WHERE id = 99', ['none'])).rowCount).toBe(
      0,
    );
  });

  it('rolls a transaction back when its work throws, and commits it otherwise', async () => {
    await expect(
      sut.transaction(async (tx) => {
        await tx.query("INSERT INTO items (id, name) VALUES (10, 'lost')");
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect((await sut.query('SELECT 1 FROM items WHERE id = 10')).rowCount).toBe(0);

    await sut.transaction((tx) => tx.query("INSERT INTO items (id, name) VALUES (11, 'kept')"));
    expect((await sut.query('SELECT 1 FROM items WHERE id = 11')).rowCount).toBe(1);
  });

  it('counts its round trips: one per statement, BEGIN and COMMIT or ROLLBACK per transaction', async () => {
    // On a server, the driver's own calls are the witness: every round trip is a client.query.
    const driver = jest.spyOn(Client.prototype, 'query');
    try {
      const counted = async (work: () => Promise<unknown>): Promise<number> => {
        const before = sut.roundTrips;
        driver.mockClear();
        await work().catch(() => undefined);
        const delta = sut.roundTrips - before;
        if (backend === 'postgres') expect(driver).toHaveBeenCalledTimes(delta);
        return delta;
      };
      expect(await counted(() => sut.query('SELECT 1'))).toBe(1);
      expect(await counted(() => sut.exec('SELECT 1; SELECT 2'))).toBe(1);
      expect(
        await counted(() =>
          sut.transaction(async (tx) => {
            await tx.query('SELECT 1');
            await tx.exec('SELECT 2');
          }),
        ),
      ).toBe(4);
      expect(
        await counted(() =>
          sut.transaction(async (tx) => {
            await tx.query('SELECT 1');
            throw new Error('boom');
          }),
        ),
      ).toBe(3);
    } finally {
      driver.mockRestore();
    }
  });

  it('applies each migration once, in id order', async () => {
    const migrations = [
      { id: '002_second', sql: "INSERT INTO log (entry) VALUES ('second')" },
      {
        id: '001_first',
        sql: "CREATE TABLE log (n serial PRIMARY KEY, entry text); INSERT INTO log (entry) VALUES ('first')",
      },
    ];
    expect(await runMigrations(sut, migrations)).toEqual(['001_first', '002_second']);
    expect(await runMigrations(sut, migrations)).toEqual([]);
    const log = await sut.query<{ entry: string }>('SELECT entry FROM log ORDER BY n');
    expect(log.rows.map((row) => row.entry)).toEqual(['first', 'second']);
  });

  it('leaves no trace of a failing migration', async () => {
    const broken = [
      { id: '003_broken', sql: 'CREATE TABLE half (id int); SELECT no_such_function()' },
    ];
    await expect(runMigrations(sut, broken)).rejects.toThrow();
    expect(
      (await sut.query("SELECT 1 FROM schema_migrations WHERE id = '003_broken'")).rowCount,
    ).toBe(0);
    expect(
      (await sut.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'half'"))
        .rowCount,
    ).toBe(0);
  });
});
