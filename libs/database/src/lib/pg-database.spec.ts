import { DependencyUnavailableError } from '@zt/service-chassis';
import {
  createScratchDatabase,
  freePort,
  runningInCi,
  type ScratchDatabase,
  startTcpProxy,
  type TcpProxy,
  testDatabaseAdminUrl,
} from '@zt/test-kit';
import { DatabaseUnavailableError } from './database-unavailable.error';
import { PgDatabase } from './pg-database';

// A PostgreSQL server is needed; CI always has one, so only a developer's run may skip.
const describeOnServer = testDatabaseAdminUrl() || runningInCi() ? describe : describe.skip;

describeOnServer('PgDatabase when its server is out of reach', () => {
  let scratch: ScratchDatabase;
  let proxy: TcpProxy;
  let sut: PgDatabase;

  /** What `work` rejected with. */
  const refusal = async (work: Promise<unknown>): Promise<unknown> =>
    work.then(
      () => new Error('expected a rejection'),
      (error: unknown) => error,
    );

  beforeAll(async () => {
    scratch = await createScratchDatabase();
    const server = new URL(scratch.url);
    proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 5432) });
    sut = await PgDatabase.connect(proxy.through(scratch.url), 'spec');
    await sut.exec('CREATE TABLE items (id bigint PRIMARY KEY)');
  });

  afterEach(() => proxy.restore());

  afterAll(async () => {
    await sut.close();
    await proxy.close();
    await scratch.drop();
  });

  it('rejects with DatabaseUnavailableError when its connections are lost, and serves again once they can be made', async () => {
    await sut.query('INSERT INTO items (id) VALUES (1)');
    proxy.cut();
    const lost = await refusal(sut.query('SELECT id FROM items'));
    expect(lost).toBeInstanceOf(DatabaseUnavailableError);
    expect(lost).toBeInstanceOf(DependencyUnavailableError);
    expect(lost).toMatchObject({ dependency: 'database' });
    // A new connection, dropped at once while the proxy is cut.
    expect(await refusal(sut.query('SELECT id FROM items'))).toBeInstanceOf(
      DatabaseUnavailableError,
    );
    proxy.restore();
    expect((await sut.query('SELECT id FROM items')).rows).toEqual([{ id: 1n }]);
  });

  it('rejects a transaction that cannot begin or cannot commit with it, and leaves no row behind', async () => {
    proxy.cut();
    expect(
      await refusal(sut.transaction((tx) => tx.query('INSERT INTO items (id) VALUES (2)'))),
    ).toBeInstanceOf(DatabaseUnavailableError);
    proxy.restore();
    // Lost between the work and its COMMIT: rolled back by the server, reported as an outage.
    const lostBeforeCommit = await refusal(
      sut.transaction(async (tx) => {
        await tx.query('INSERT INTO items (id) VALUES (3)');
        proxy.cut();
      }),
    );
    expect(lostBeforeCommit).toBeInstanceOf(DatabaseUnavailableError);
    proxy.restore();
    expect((await sut.query('SELECT id FROM items WHERE id IN (2, 3)')).rows).toEqual([]);
  });

  it('survives a connection lost between two statements of a transaction, and says why it was lost', async () => {
    // Lost while no statement was running: pg reports it as an 'error' event of the client,
    // which would end the process if nobody listened.
    const betweenStatements = await refusal(
      sut.transaction(async (tx) => {
        await tx.query('INSERT INTO items (id) VALUES (4)');
        proxy.cut();
        await new Promise((resolve) => setTimeout(resolve, 100));
        await tx.query('INSERT INTO items (id) VALUES (5)');
      }),
    );
    expect(betweenStatements).toMatchObject({
      name: 'DatabaseUnavailableError',
      reason: 'connection_lost',
    });
    proxy.restore();
    // Ended by the server for a fault of the transaction (idling in it): that fault, a 500.
    const idled = await refusal(
      sut.transaction(async (tx) => {
        await tx.query("SET LOCAL idle_in_transaction_session_timeout = '50ms'");
        // Far past the 50 ms, so that even a busy server has ended the session by then.
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        await tx.query('INSERT INTO items (id) VALUES (6)');
      }),
    );
    expect(idled).not.toBeInstanceOf(DatabaseUnavailableError);
    expect(idled).toMatchObject({ code: '25P03' });
    expect((await sut.query('SELECT id FROM items WHERE id IN (4, 5, 6)')).rows).toEqual([]);
  });

  it('fails to connect at boot with the driver’s own error, which names the host but no password', async () => {
    // A port where nothing listens.
    const closed = new URL(scratch.url);
    closed.hostname = '127.0.0.1';
    closed.port = String(await freePort());
    closed.password = 'pa55-not-to-be-logged';
    const boot = (await refusal(PgDatabase.connect(closed.toString(), 'spec'))) as Error;
    expect(boot).not.toBeInstanceOf(DatabaseUnavailableError);
    expect(boot.message).toContain(`127.0.0.1:${closed.port}`);
    expect(`${boot.message} ${boot.stack}`).not.toContain('pa55-not-to-be-logged');
  });

  it('passes every other error on as the driver gave it: a fault of the SQL stays one', async () => {
    await sut.query('INSERT INTO items (id) VALUES (100)');
    const duplicate = await refusal(sut.query('INSERT INTO items (id) VALUES (100)'));
    expect(duplicate).not.toBeInstanceOf(DatabaseUnavailableError);
    expect(duplicate).toMatchObject({ code: '23505' });
    const missing = await refusal(sut.query('SELECT * FROM no_such_table'));
    expect(missing).toMatchObject({ code: '42P01' });
    const domain = new Error('insufficient funds');
    expect(
      await refusal(
        sut.transaction(() => {
          throw domain;
        }),
      ),
    ).toBe(domain);
  });
});
