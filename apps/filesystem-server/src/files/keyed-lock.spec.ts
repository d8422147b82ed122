import { KeyedLock, KeyedLockQueueFullError } from './keyed-lock';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

describe(KeyedLock.name, () => {
  it('runs work of one key one at a time, in arrival order', async () => {
    const sut = new KeyedLock();
    const events: string[] = [];
    const gate = deferred();
    const first = sut.run('alice', async () => {
      events.push('first start');
      await gate.promise;
      events.push('first end');
      return 1;
    });
    const second = sut.run('alice', async () => {
      events.push('second start');
      return 2;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual(['first start']);
    gate.resolve();
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    expect(events).toEqual(['first start', 'first end', 'second start']);
  });

  it('lets different keys run side by side', async () => {
    const sut = new KeyedLock();
    const gate = deferred();
    const blocked = sut.run('alice', () => gate.promise);
    await expect(sut.run('bob', async () => 'bob done')).resolves.toBe('bob done');
    gate.resolve();
    await blocked;
  });

  it('goes on with the queue after a failure, and passes the failure to its caller', async () => {
    const sut = new KeyedLock();
    const failing = sut.run('alice', async () => {
      throw new Error('disk full');
    });
    const next = sut.run('alice', async () => 'next ran');
    await expect(failing).rejects.toThrow('disk full');
    await expect(next).resolves.toBe('next ran');
  });

  it('forgets a key once its queue is empty', async () => {
    const sut = new KeyedLock();
    await Promise.all([sut.run('a', async () => 1), sut.run('a', async () => 2)]);
    expect(sut.activeKeys).toBe(0);
  });

  it('refuses, without running it, work past maxPerKey running or waiting, for that key only', async () => {
    const sut = new KeyedLock(2);
    const gate = deferred();
    const ran: string[] = [];
    const first = sut.run('alice', async () => {
      ran.push('first');
      await gate.promise;
    });
    const second = sut.run('alice', async () => {
      ran.push('second');
    });
    await expect(sut.run('alice', async () => ran.push('third'))).rejects.toBeInstanceOf(
      KeyedLockQueueFullError,
    );
    await expect(sut.run('bob', async () => 'bob ran')).resolves.toBe('bob ran');
    gate.resolve();
    await Promise.all([first, second]);
    await expect(sut.run('alice', async () => 'fourth ran')).resolves.toBe('fourth ran');
    expect(ran).toEqual(['first', 'second']);
    expect(sut.activeKeys).toBe(0);
  });
});
