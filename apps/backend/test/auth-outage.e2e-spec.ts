import { testBackends } from '@zt/test-kit';
import { BackendStack } from './backend-stack';

/**
 * The auth server stopped under a running stack (a crash or a deploy): users already signed in
 * carry on, because every service verifies with keys it has cached, and in the identity modes
 * (`E2E_INTERNAL_AUTH_MODE=token+jwt`) the backend calls billing and the filesystem with the
 * service tokens it has cached (DESIGN section 9: "keeps working on a cached token while
 * auth-server is briefly down"). Only what needs the auth server itself (sign-up, log-in)
 * waits for it.
 */
describe.each(testBackends())('when the auth server goes down briefly, on %s', (database) => {
  const sut = BackendStack.forSuite(database);

  it('lets a signed-in user read and make a metered write, charged once', async () => {
    const user = await sut.signUp('pro');
    // The first write fetches what the backend needs (keys; service tokens in identity modes).
    expect(await sut.put(user, '/me/files/before.txt', 'before')).toMatchObject({
      status: 201,
      body: { charged: 0.01, balance: 4.99 },
    });
    await sut.stack.stop('auth-server');
    try {
      expect(await sut.call(user, '/me')).toMatchObject({ status: 200, body: { balance: 4.99 } });
      expect(await sut.put(user, '/me/files/during.txt', 'while auth is down')).toMatchObject({
        status: 201,
        body: { charged: 0.01, balance: 4.98 },
      });
      expect((await sut.download(user, '/me/files/during.txt')).bytes.toString()).toBe(
        'while auth is down',
      );
    } finally {
      await sut.stack.start('auth-server');
    }
    const charges = (await sut.ledger(user)).filter((entry) => entry.kind === 'deduct');
    expect(charges.map((entry) => entry.amount)).toEqual([-0.01, -0.01]);
  });

  it('never logs a secret nor an access token', () => {
    sut.expectNoSecretInLogs();
  });
});
