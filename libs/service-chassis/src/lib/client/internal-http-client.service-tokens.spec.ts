import { Injectable, Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  ConfigError,
  InternalCallCredentials,
  type InternalAuthConfig,
  type ServiceTokenFetcher,
  ServiceTokenUnavailableError,
} from '@zt/service-utils';
import { headerLines, type ScriptedServer, sendJson, startScriptedServer } from '@zt/test-kit';
import type { InternalClientConfig } from '../config/internal-client.config';
import { InternalClientModule } from './internal-client.module';
import type { InternalClientOptions } from './internal-client.types';
import { InternalHttpClient } from './internal-http-client';
import { UpstreamUnavailableError } from './upstream-unavailable.error';

const SHARED = 'q3V9sLk2Xw8RzT1mN6pB4yH7cJ0dF5gA';
// No test here waits for a deadline: one far above any answer of a busy machine.
const CLIENT: InternalClientConfig = {
  timeoutMs: 10_000,
  retries: 2,
  breakerResetMs: 400,
  breakerErrorThresholdPercent: 50,
  breakerVolumeThreshold: 3,
};
const SERVICE_TOKENS = {
  issuer: 'http://auth.internal',
  jwksUrl: new URL('http://auth.internal/oauth2/jwks'),
  audience: 'backend',
  keySet: { timeoutMs: 1000, cooldownMs: 1000, cacheMaxAgeMs: 1000 },
};
const auth = (mode: InternalAuthConfig['mode'], extra: Partial<InternalAuthConfig> = {}) =>
  ({
    sendToken: SHARED,
    acceptedTokens: [SHARED],
    mode,
    serviceTokens: SERVICE_TOKENS,
    ...extra,
  }) satisfies InternalAuthConfig;

/** An in-process issuer: token `<audience>-<n>`, counting what it was asked. */
function countingIssuer() {
  const asked: string[] = [];
  const fetcher: ServiceTokenFetcher = async (audience) => {
    asked.push(audience);
    return { accessToken: `${audience}-${asked.length}`, expiresInSeconds: 3600 };
  };
  return { asked, fetcher };
}

const INVALID_TOKEN = { 'www-authenticate': 'Bearer error="invalid_token"' };

describe('InternalHttpClient with service tokens', () => {
  let billing: ScriptedServer;

  beforeEach(async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    billing = await startScriptedServer((_request, response) => sendJson(response, 200, {}));
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await billing.close();
  });

  // The tokens' clock: each reading is 10 s later, so a refused token is always old enough to
  // renew (one refused within 5 s of its fetch is kept: ServiceTokenCache.invalidate).
  let clock = 0;
  const now = () => (clock += 10_000);

  const clientWith = (config: InternalAuthConfig, fetcher?: ServiceTokenFetcher) => {
    const options: InternalClientOptions = {
      callerName: 'backend',
      upstreams: { billing: { baseUrl: billing.url, audience: 'billing-server' } },
      client: CLIENT,
      internalAuth: config,
    };
    return new InternalHttpClient(
      options,
      new InternalCallCredentials(config, {
        timeoutMs: 500,
        fetcher,
        now,
        // Long-lived tokens, so that the 10 s steps of the clock do not expire them.
        refreshBeforeExpirySeconds: 60,
      }),
    );
  };

  it('sends the shared token and the service token for the upstream, one token for many calls', async () => {
    const issuer = countingIssuer();
    const sut = clientWith(auth('token+jwt'), issuer.fetcher);
    await Promise.all(
      Array.from({ length: 20 }, () => sut.request('billing', { method: 'GET', path: '/x' })),
    );
    expect(issuer.asked).toEqual(['billing-server']);
    for (const seen of billing.seen) {
      expect(headerLines(seen, 'Authorization')).toEqual(['Bearer billing-server-1']);
      expect(headerLines(seen, 'X-INTERNAL-TOKEN')).toEqual([SHARED]);
      expect(headerLines(seen, 'X-Caller-Service')).toEqual(['backend']);
    }
  });

  it('sends the service token alone in jwt mode without a shared token', async () => {
    const config = auth('jwt', { sendToken: undefined, acceptedTokens: [] });
    const sut = clientWith(config, countingIssuer().fetcher);
    await sut.request('billing', { method: 'GET', path: '/x' });
    expect(headerLines(billing.seen[0], 'Authorization')).toEqual(['Bearer billing-server-1']);
    expect(headerLines(billing.seen[0], 'X-INTERNAL-TOKEN')).toEqual([]);
  });

  it('sends no service token in token mode, and never asks for one', async () => {
    const issuer = countingIssuer();
    const sut = clientWith(auth('token'), issuer.fetcher);
    await sut.request('billing', { method: 'GET', path: '/x' });
    expect(headerLines(billing.seen[0], 'Authorization')).toEqual([]);
    expect(issuer.asked).toEqual([]);
  });

  it('renews a token refused as invalid and sends the call once more, a POST too', async () => {
    const issuer = countingIssuer();
    const sut = clientWith(auth('jwt'), issuer.fetcher);
    billing.handler = (request, response) => {
      const refused = headerLines(request, 'Authorization')[0] === 'Bearer billing-server-1';
      if (refused) response.writeHead(401, INVALID_TOKEN).end('{"error":"unauthorized"}');
      else sendJson(response, 200, { ok: true });
    };
    const answer = await sut.request('billing', { method: 'POST', path: '/deduct', body: {} });
    expect(answer).toMatchObject({ status: 200, data: { ok: true }, attempts: 2 });
    expect(issuer.asked).toHaveLength(2);
    expect(billing.seen.map((seen) => headerLines(seen, 'Authorization')[0])).toEqual([
      'Bearer billing-server-1',
      'Bearer billing-server-2',
    ]);
  });

  it('renews once only: a second refusal is the answer', async () => {
    const issuer = countingIssuer();
    const sut = clientWith(auth('jwt'), issuer.fetcher);
    billing.handler = (_request, response) =>
      response.writeHead(401, INVALID_TOKEN).end('{"error":"unauthorized"}');
    await expect(sut.request('billing', { method: 'GET', path: '/x' })).resolves.toMatchObject({
      status: 401,
    });
    expect(billing.seen).toHaveLength(2);
    expect(issuer.asked).toHaveLength(2);
  });

  it('does not renew a token refused right after its fetch: the refusal is the answer', async () => {
    const issuer = countingIssuer();
    const config = auth('jwt');
    const sut = new InternalHttpClient(
      {
        callerName: 'backend',
        upstreams: { billing: { baseUrl: billing.url, audience: 'billing-server' } },
        client: CLIENT,
        internalAuth: config,
      },
      new InternalCallCredentials(config, { timeoutMs: 500, fetcher: issuer.fetcher }),
    );
    billing.handler = (_request, response) =>
      response.writeHead(401, INVALID_TOKEN).end('{"error":"unauthorized"}');
    for (let call = 0; call < 3; call += 1) {
      await expect(sut.request('billing', { method: 'GET', path: '/x' })).resolves.toMatchObject({
        status: 401,
        attempts: 1,
      });
    }
    // Three calls, one token: a callee that refuses every token does not cost a fetch a call.
    expect(issuer.asked).toHaveLength(1);
    expect(billing.seen).toHaveLength(3);
  });

  it('does not renew for a refusal that is not about the token', async () => {
    const issuer = countingIssuer();
    const sut = clientWith(auth('jwt'), issuer.fetcher);
    billing.handler = (_request, response) =>
      response
        .writeHead(403, { 'www-authenticate': 'Bearer error="insufficient_scope"' })
        .end('{"error":"Forbidden"}');
    await expect(sut.request('billing', { method: 'GET', path: '/x' })).resolves.toMatchObject({
      status: 403,
    });
    expect(billing.seen).toHaveLength(1);
    expect(issuer.asked).toHaveLength(1);
  });

  it('sends nothing when no token can be had, and says so', async () => {
    const sut = clientWith(auth('token+jwt'), async (audience) => {
      throw new ServiceTokenUnavailableError(audience, 'refused', 'invalid_client');
    });
    const error = await sut.request('billing', { method: 'GET', path: '/x' }).catch((e) => e);
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect(error).toMatchObject({ upstream: 'billing', reason: 'no_service_token' });
    expect(billing.seen).toHaveLength(0);
  });

  it('in shadow mode sends the call without a token when none can be had', async () => {
    const sut = clientWith(auth('token', { shadow: 'jwt' }), async (audience) => {
      throw new ServiceTokenUnavailableError(audience, 'unreachable');
    });
    await expect(sut.request('billing', { method: 'GET', path: '/x' })).resolves.toMatchObject({
      status: 200,
    });
    expect(headerLines(billing.seen[0], 'Authorization')).toEqual([]);
    expect(headerLines(billing.seen[0], 'X-INTERNAL-TOKEN')).toEqual([SHARED]);
  });

  it('refuses at construction an upstream without its audience, and a mode without a secret', () => {
    const options = (config: InternalAuthConfig): InternalClientOptions => ({
      callerName: 'backend',
      upstreams: { billing: { baseUrl: billing.url } },
      client: CLIENT,
      internalAuth: config,
    });
    expect(() => new InternalHttpClient(options(auth('token')))).not.toThrow();
    expect(
      () =>
        new InternalHttpClient(
          options(auth('jwt')),
          new InternalCallCredentials(auth('jwt'), {
            timeoutMs: 500,
            fetcher: countingIssuer().fetcher,
          }),
        ),
    ).toThrow(/upstream "billing" needs its audience/);
    // No fetcher given and no client secret configured: the variable to set is named.
    expect(() => new InternalHttpClient(options(auth('jwt')))).toThrow(ConfigError);
    expect(() => new InternalHttpClient(options(auth('jwt')))).toThrow(
      expect.objectContaining({ variable: 'BACKEND_CLIENT_SECRET' }),
    );
  });

  it('takes its tokens from a provider of the app (the issuer minting its own)', async () => {
    const issuer = countingIssuer();
    @Injectable()
    class OwnIssuer {
      readonly tokens = issuer.fetcher;
    }
    const moduleRef = await Test.createTestingModule({
      imports: [
        InternalClientModule.forRoot({
          callerName: 'auth-server',
          upstreams: { billing: { baseUrl: billing.url, audience: 'billing-server' } },
          client: CLIENT,
          internalAuth: auth('jwt'),
          serviceTokens: {
            imports: [
              { module: class OwnIssuerModule {}, providers: [OwnIssuer], exports: [OwnIssuer] },
            ],
            inject: [OwnIssuer],
            useFactory: (own: OwnIssuer) => own.tokens,
          },
        }),
      ],
    }).compile();
    await moduleRef.get(InternalHttpClient).request('billing', { method: 'GET', path: '/x' });
    expect(headerLines(billing.seen[0], 'Authorization')).toEqual(['Bearer billing-server-1']);
    expect(moduleRef.get(InternalCallCredentials).tokenCounts()).toEqual({
      cached: 0,
      fetched: 1,
      stale: 0,
      failed: 0,
    });
    await moduleRef.close();
  });
});
