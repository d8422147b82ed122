import { ServiceTokenUnavailableError } from './service-token-unavailable.error';
import { UserAssertionCache, type UserAssertionFetcher } from './user-assertion-cache';

describe(UserAssertionCache.name, () => {
  let clock = 1_000_000;
  const now = () => clock;
  let fetched: string[] = [];
  const fetcher: UserAssertionFetcher = async (subject, audience) => {
    fetched.push(`${subject}@${audience}`);
    await Promise.resolve();
    return { accessToken: `assertion-${fetched.length}`, expiresInSeconds: 120 };
  };

  beforeEach(() => {
    clock = 1_000_000;
    fetched = [];
  });

  it('exchanges once per session and audience, and reuses the assertion until shortly before it expires', async () => {
    const sut = new UserAssertionCache(fetcher, { now });
    expect(await sut.assertion('alice-token', 'billing-server')).toBe('assertion-1');
    expect(await sut.assertion('alice-token', 'billing-server')).toBe('assertion-1');
    expect(await sut.assertion('alice-token', 'filesystem-server')).toBe('assertion-2');
    expect(await sut.assertion('bob-token', 'billing-server')).toBe('assertion-3');
    clock += 109_000;
    expect(await sut.assertion('alice-token', 'billing-server')).toBe('assertion-1');
    clock += 2_000;
    expect(await sut.assertion('alice-token', 'billing-server')).toBe('assertion-4');
    expect(fetched).toEqual([
      'alice-token@billing-server',
      'alice-token@filesystem-server',
      'bob-token@billing-server',
      'alice-token@billing-server',
    ]);
  });

  it('makes one exchange for many calls that wait at once (single flight)', async () => {
    const sut = new UserAssertionCache(fetcher, { now });
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => sut.assertion('alice-token', 'billing-server')),
    );
    expect(new Set(answers)).toEqual(new Set(['assertion-1']));
    expect(fetched).toHaveLength(1);
  });

  it('remembers no failure: the next call asks again', async () => {
    let refuse = true;
    const sut = new UserAssertionCache(
      async (subject, audience) => {
        fetched.push(subject);
        if (refuse) throw new ServiceTokenUnavailableError(audience, 'refused', 'invalid_grant');
        return { accessToken: 'fresh', expiresInSeconds: 60 };
      },
      { now },
    );
    await expect(sut.assertion('t', 'billing-server')).rejects.toMatchObject({
      oauthError: 'invalid_grant',
    });
    refuse = false;
    expect(await sut.assertion('t', 'billing-server')).toBe('fresh');
    expect(fetched).toEqual(['t', 't']);
  });

  it('keeps at most maxEntries assertions', async () => {
    const sut = new UserAssertionCache(fetcher, { now, maxEntries: 2 });
    await sut.assertion('a', 'x');
    await sut.assertion('b', 'x');
    await sut.assertion('c', 'x');
    await sut.assertion('a', 'x');
    expect(fetched).toEqual(['a@x', 'b@x', 'c@x', 'a@x']);
  });
});
