import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { signedInUser } from '../testing/authenticated-user';
import { closedPort, type ScriptedServer, sendJson, startScriptedServer } from '@zt/test-kit';
import { InternalCallCredentials } from '@zt/service-utils';
import { AuthSessionsClient, type SessionsOptions } from './auth-sessions.client';
import { RevocationList } from './revocation-list';

const TOKEN = 'q3V9sLk2Xw8RzT1mN6pB4yH7cJ0dF5gA';
const now = () => Math.floor(Date.now() / 1000);

/** The revocation list against a scripted feed on a real port. */
describe(RevocationList.name, () => {
  let feed: ScriptedServer;
  let pages: Record<string, unknown>;
  let logged: Array<Record<string, unknown>>;

  const listAt = (authUrl: string) => {
    const options: SessionsOptions = {
      authUrl,
      // No test here waits for a deadline (a feed that is down refuses the connection).
      timeoutMs: 10_000,
      pollIntervalMs: 60_000,
    };
    const credentials = new InternalCallCredentials(
      { sendToken: TOKEN, acceptedTokens: [TOKEN] },
      { timeoutMs: 10_000 },
    );
    return new RevocationList(new AuthSessionsClient(options, credentials), options);
  };

  beforeEach(async () => {
    pages = {};
    feed = await startScriptedServer((request, response) => {
      const after = new URL(request.url, 'http://feed').searchParams.get('after') ?? '';
      sendJson(response, 200, pages[after] ?? { revocations: [], next_after: null });
    });
    logged = [];
    for (const level of ['log', 'warn', 'error'] as const) {
      jest.spyOn(Logger.prototype, level).mockImplementation((...[entry]: unknown[]) => {
        logged.push(entry as Record<string, unknown>);
      });
    }
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await feed.close();
  });

  it('refuses revoked token ids and tokens issued before a user cutoff, page by page', async () => {
    const ada = signedInUser('ada', 'ada@example.com');
    const bob = signedInUser('bob', 'bob@example.com');
    const later = { ...signedInUser('bob', 'bob@example.com'), issuedAt: now() + 2 };
    pages['0'] = {
      revocations: [
        { seq: '1', user_id: 'ada', jti: ada.tokenId, not_before: null, expires_at: now() + 60 },
      ],
      next_after: '1',
    };
    pages['1'] = {
      revocations: [
        { seq: '2', user_id: 'bob', jti: null, not_before: now() + 1, expires_at: now() + 60 },
      ],
      next_after: null,
    };
    const sut = listAt(feed.url);
    await sut.poll();

    expect(sut.isRevoked(ada)).toBe(true);
    expect(sut.isRevoked({ ...ada, tokenId: randomUUID() })).toBe(false);
    expect(sut.isRevoked(bob)).toBe(true);
    expect(sut.isRevoked(later)).toBe(false);
    // The internal credential went with every read, and the next read starts after seq 2.
    expect(feed.seen.every((seen) => seen.headers['x-internal-token'] === TOKEN)).toBe(true);
    await sut.poll();
    expect(feed.seen.at(-1)?.url).toBe('/revocations?after=2&limit=1000');
  });

  it('counts its own logout at once, without the feed', async () => {
    const ada = signedInUser('ada', 'ada@example.com');
    const sut = listAt(feed.url);
    sut.revokeLocally(ada);
    expect(sut.isRevoked(ada)).toBe(true);
  });

  it('forgets revocations once the tokens they name have expired', async () => {
    const ada = signedInUser('ada', 'ada@example.com');
    pages['0'] = {
      revocations: [
        { seq: '1', user_id: 'ada', jti: ada.tokenId, not_before: null, expires_at: now() - 1 },
      ],
      next_after: null,
    };
    const sut = listAt(feed.url);
    await sut.poll();
    expect(sut.isRevoked(ada)).toBe(false);
  });

  it('keeps what it knows while the feed is down, saying so once, and catches up after', async () => {
    const ada = signedInUser('ada', 'ada@example.com');
    const sut = listAt(`http://127.0.0.1:${await closedPort()}`);
    sut.revokeLocally(ada);
    await sut.poll();
    await sut.poll();
    expect(sut.isRevoked(ada)).toBe(true);
    expect(logged.filter((entry) => entry['event'] === 'revocation_feed_unavailable')).toHaveLength(
      1,
    );
  });
});
