import { testBackends, type TestUser } from '@zt/test-kit';
import { readFileSync } from 'node:fs';
import { BackendStack } from './backend-stack';

/**
 * One user's files are no other user's, whatever a client adds to its request: the backend
 * never forwards a client's `X-User-ID` or `X-INTERNAL-TOKEN`, it names the token's user
 * itself. Each test signs up its own users.
 */
describe.each(testBackends())('isolation between users at the backend, on %s', (database) => {
  const sut = BackendStack.forSuite(database);

  /** What a client might add to act as `victim`: the backend must ignore it. */
  const spoofing = (victim: TestUser) => ({
    'X-User-ID': victim.userId,
    'X-INTERNAL-TOKEN': sut.internalToken,
  });

  /** A pro user with `notes/a.txt`, and a free user. */
  async function ownerAndOther(): Promise<[TestUser, TestUser]> {
    const [owner, other] = [await sut.signUp('pro', 'alice'), await sut.signUp('free', 'bob')];
    expect((await sut.put(owner, '/me/files/notes/a.txt', 'hello, world')).status).toBe(201);
    return [owner, other];
  }

  it("lets nobody else read, list or delete a user's file, whatever headers they add", async () => {
    const [owner, other] = await ownerAndOther();
    for (const headers of [{}, spoofing(owner)]) {
      const read = await sut.download(other, '/me/files/notes/a.txt', headers);
      expect(read.status).toBe(404);
      expect(read.bytes.toString('utf8')).not.toContain('hello');
      expect(await sut.call(other, '/me/files', { headers })).toMatchObject({
        status: 200,
        body: { files: [] },
      });
      expect(
        await sut.call(other, '/me/files/notes/a.txt', { method: 'DELETE', headers }),
      ).toMatchObject({ status: 404 });
    }
    expect(readFileSync(sut.onDisk(owner, 'notes/a.txt'), 'utf8')).toBe('hello, world');
    expect((await sut.download(owner, '/me/files/notes/a.txt')).status).toBe(200);
  });

  it("writes into the token user's own folder, whatever X-User-ID says", async () => {
    const [owner, other] = await ownerAndOther();
    const response = await sut.put(other, '/me/files/notes/a.txt', 'bob was here', spoofing(owner));
    expect(response).toMatchObject({ status: 201, body: { charged: 0.01, balance: 0.99 } });
    expect(readFileSync(sut.onDisk(other, 'notes/a.txt'), 'utf8')).toBe('bob was here');
    expect(readFileSync(sut.onDisk(owner, 'notes/a.txt'), 'utf8')).toBe('hello, world');
    expect(await sut.balance(owner)).toBe(4.99);
    expect(await sut.balance(other)).toBe(0.99);
  });

  it('gives a client that sends those headers the same answer as one that does not', async () => {
    const [owner, other] = await ownerAndOther();
    const plain = await sut.call(owner, '/me');
    // Naming itself, and naming another user.
    for (const victim of [owner, other]) {
      const spoofed = await sut.call(owner, '/me', { headers: spoofing(victim) });
      expect(spoofed).toMatchObject({ status: plain.status, body: plain.body });
    }
  });

  it('never logs the internal token nor an access token', () => {
    sut.expectNoSecretInLogs();
  });
});
