import { rawRequest, testBackends } from '@zt/test-kit';
import { existsSync, readFileSync } from 'node:fs';
import { BackendStack } from './backend-stack';

const SPENT = {
  error:
    'this Idempotency-Key was already settled by an earlier write; send a new write with a new key',
};

/**
 * A client that retries a metered write with its `Idempotency-Key` completes it without a
 * second charge, and can never get a write for free with it. Each test signs up its own user.
 */
describe.each(testBackends())('idempotent retries of metered writes, on %s', (database) => {
  const sut = BackendStack.forSuite(database);

  it('charges a retried write with the same Idempotency-Key once', async () => {
    const user = await sut.signUp('pro');
    const before = (await sut.ledger(user)).length;
    const headers = { 'Idempotency-Key': 'upload-b-1' };
    const first = await sut.put(user, '/me/files/notes/b.txt', 'version 1', headers);
    expect(first).toMatchObject({
      status: 201,
      body: { path: 'notes/b.txt', size: 9, charged: 0.01, balance: 4.99 },
    });
    // The write happened once: its answer again, as a replay.
    const retry = await sut.put(user, '/me/files/notes/b.txt', 'version 1', headers);
    expect(retry).toMatchObject({
      status: 200,
      body: { path: 'notes/b.txt', size: 9, charged: 0.01, balance: 4.99 },
    });
    expect(retry.headers.get('idempotent-replayed')).toBe('true');

    const entries = await sut.ledger(user);
    expect(entries.length - before).toBe(1);
    expect(entries[0]).toMatchObject({ kind: 'deduct', amount: -0.01 });
    expect(await sut.balance(user)).toBe(4.99);
  });

  it('refuses the same key for a different write (422), charging and writing nothing', async () => {
    const user = await sut.signUp('pro');
    const key = { 'Idempotency-Key': 'upload-b-2' };
    expect((await sut.put(user, '/me/files/notes/b.txt', 'version 1', key)).status).toBe(201);
    const before = await sut.ledger(user);
    const response = await sut.put(user, '/me/files/notes/b.txt', 'version 2', key);
    expect(response).toMatchObject({
      status: 422,
      body: { error: 'this Idempotency-Key was used for a different write' },
    });
    expect(await sut.ledger(user)).toEqual(before);
    expect(readFileSync(sut.onDisk(user, 'notes/b.txt'), 'utf8')).toBe('version 1');
  });

  it('does not write for free what was refunded: a retry after a refund is refused (409)', async () => {
    const user = await sut.signUp('pro', 'carol');
    expect((await sut.put(user, '/me/files/blocker', 'a file')).status).toBe(201);
    const key = { 'Idempotency-Key': 'under-blocker-1' };
    // The parent is a file: the filesystem refuses (409), the charge is refunded.
    expect((await sut.put(user, '/me/files/blocker/child.txt', 'data', key)).status).toBe(409);
    expect((await sut.call(user, '/me/files/blocker', { method: 'DELETE' })).status).toBe(204);
    const before = await sut.ledger(user);

    // Obstacle gone, same key and bytes: the replayed charge must not pay for a new write.
    const retry = await sut.put(user, '/me/files/blocker/child.txt', 'data', key);
    expect(retry).toMatchObject({ status: 409, body: SPENT });
    expect(existsSync(sut.onDisk(user, 'blocker/child.txt'))).toBe(false);
    expect(await sut.ledger(user)).toEqual(before);
  });

  it('answers a retry of a write that happened like the first time: no top-up, nothing rewritten', async () => {
    const user = await sut.signUp('pro', 'carol-2');
    const key = { 'Idempotency-Key': 'paid-once-1' };
    const first = await sut.put(user, '/me/files/spot/x.txt', 'paid', key);
    expect(first.status).toBe(201);
    expect((await sut.call(user, '/me/files/spot/x.txt', { method: 'DELETE' })).status).toBe(204);
    expect((await sut.put(user, '/me/files/spot', 'now a file')).status).toBe(201);
    const before = await sut.ledger(user);

    // The write would fail now (parent is a file); its charge paid the first write.
    const retry = await sut.put(user, '/me/files/spot/x.txt', 'paid', key);
    expect(retry).toMatchObject({ status: 200, body: first.body });
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await sut.ledger(user)).toEqual(before);
    expect(readFileSync(sut.onDisk(user, 'spot'), 'utf8')).toBe('now a file');
  });

  it('refuses a malformed or repeated Idempotency-Key with 400 before charging', async () => {
    const user = await sut.signUp('pro');
    const before = await sut.ledger(user);
    expect(
      await sut.put(user, '/me/files/notes/c.txt', 'x', { 'Idempotency-Key': 'k'.repeat(201) }),
    ).toMatchObject({ status: 400 });
    const repeated = await rawRequest(`${sut.api}/me/files/notes/c.txt`, {
      method: 'PUT',
      rawHeaders: [
        'Authorization',
        `Bearer ${user.accessToken}`,
        'Idempotency-Key',
        'a',
        'Idempotency-Key',
        'b',
      ],
      body: 'x',
    });
    expect(repeated).toMatchObject({
      status: 400,
      body: { error: 'Idempotency-Key must appear once' },
    });
    expect(await sut.ledger(user)).toEqual(before);
    expect(existsSync(sut.onDisk(user, 'notes/c.txt'))).toBe(false);
  });

  it('never logs the internal token nor an access token', () => {
    sut.expectNoSecretInLogs();
  });
});
