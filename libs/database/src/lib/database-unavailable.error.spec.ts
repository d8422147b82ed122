import { DependencyUnavailableError } from '@zt/service-chassis';
import { asDatabaseOutage, DatabaseUnavailableError } from './database-unavailable.error';

/** An error as `pg` or Node gives it: a message, and a code when there is one. */
const failure = (message: string, code?: string): Error =>
  Object.assign(new Error(message), code === undefined ? {} : { code });

describe(asDatabaseOutage.name, () => {
  it.each([
    [
      'a refused connection',
      failure('connect ECONNREFUSED 10.0.0.5:5432', 'ECONNREFUSED'),
      'ECONNREFUSED',
    ],
    ['a reset connection', failure('read ECONNRESET', 'ECONNRESET'), 'ECONNRESET'],
    [
      'a missing Unix socket',
      failure('connect ENOENT /run/postgresql/.s.PGSQL.5432', 'ENOENT'),
      'ENOENT',
    ],
    ['an unknown host', failure('getaddrinfo ENOTFOUND db', 'ENOTFOUND'), 'ENOTFOUND'],
    [
      'a server shutting down',
      failure('terminating connection due to administrator command', '57P01'),
      '57P01',
    ],
    ['a server starting up', failure('the database system is starting up', '57P03'), '57P03'],
    ['a server out of connections', failure('sorry, too many clients already', '53300'), '53300'],
    ['a full disk', failure('could not extend file', '53100'), '53100'],
    [
      'a write on a standby',
      failure('cannot execute UPDATE in a read-only transaction', '25006'),
      '25006',
    ],
    ['a connection failure', failure('connection failure', '08006'), '08006'],
    [
      'a connection lost mid-statement',
      failure('Connection terminated unexpectedly'),
      'connection_lost',
    ],
    [
      'a client that lost its connection',
      failure('Client has encountered a connection error and is not queryable'),
      'connection_lost',
    ],
    [
      'a connection that took too long',
      failure('Connection terminated due to connection timeout'),
      'connect_timeout',
    ],
    [
      'a pool whose every client stayed busy',
      failure('timeout exceeded when trying to connect'),
      'pool_exhausted',
    ],
  ])('makes %s a DatabaseUnavailableError', (_name, error, reason) => {
    const outage = asDatabaseOutage(error);
    expect(outage).toBeInstanceOf(DatabaseUnavailableError);
    expect(outage).toBeInstanceOf(DependencyUnavailableError);
    expect(outage).toMatchObject({ dependency: 'database', reason });
    // What the caller and the log may see: the reason, never the host or path the driver named.
    expect((outage as Error).message).toBe(`database unavailable: ${reason}`);
    expect(outage).not.toHaveProperty('cause');
  });

  it.each([
    ['a unique violation', failure('duplicate key value violates unique constraint', '23505')],
    ['a missing table', failure('relation "x" does not exist', '42P01')],
    [
      'a statement given the wrong number of parameters',
      failure('bind message supplies 3 parameters, but prepared statement "" requires 2', '08P01'),
    ],
    ['a serialization failure', failure('could not serialize access', '40001')],
    [
      'a session ended for idling in its transaction',
      failure('terminating connection due to idle-in-transaction timeout', '25P03'),
    ],
    ['an error of the caller’s own', new Error('insufficient funds')],
  ])('leaves %s as it is: a fault of the code stays one', (_name, error) => {
    expect(asDatabaseOutage(error)).toBe(error);
  });

  it('leaves what is not an Error as it is', () => {
    expect(asDatabaseOutage('ECONNREFUSED')).toBe('ECONNREFUSED');
    expect(asDatabaseOutage(undefined)).toBeUndefined();
  });
});
