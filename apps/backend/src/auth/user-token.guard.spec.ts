import { Controller, type DynamicModule, Get, type INestApplication, Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { InternalCallCredentials, Public } from '@zt/service-utils';
import { ServiceHttpModule } from '@zt/service-chassis';
import { rawRequest, request } from '@zt/test-kit';
import { type JwksServer, startJwksServer } from '../testing/jwks-server';
import { generateSigningKey, signToken, type TestSigningKey } from '../testing/token-factory';
import type { AuthenticatedUser } from './authenticated-user';
import { CurrentUser } from './current-user.decorator';
import { RevocationList } from './revocation-list';
import { UserAuthModule } from './user-auth.module';
import { UserTokenGuard } from './user-token.guard';

const USER_ID = '3f1c2b9e-7a41-4c55-9d0e-2b6f8a1c4d7e';
/** Sessions options whose revocation feed is at `url` (here: none, so the list stays empty). */
const sessionsAt = (url: string) => ({ authUrl: url, timeoutMs: 500, pollIntervalMs: 60_000 });
/** What the app's internal client module provides: the credential of calls to auth. */
const CREDENTIALS: DynamicModule = {
  module: class CredentialsModule {},
  global: true,
  providers: [
    {
      provide: InternalCallCredentials,
      useValue: new InternalCallCredentials(
        { sendToken: 'q3V9sLk2Xw8RzT1mN6pB4yH7cJ0dF5gA', acceptedTokens: [] },
        { timeoutMs: 500 },
      ),
    },
  ],
  exports: [InternalCallCredentials],
};
const OTHER_USER_ID = '9d0e2b6f-8a1c-4d7e-3f1c-2b9e7a414c55';

@Controller('probe')
class ProbeController {
  @Get('private')
  whoAmI(@CurrentUser() user: AuthenticatedUser): AuthenticatedUser {
    return user;
  }

  @Public()
  @Get('public')
  open(): { open: true } {
    return { open: true };
  }
}

describe(UserTokenGuard.name, () => {
  let key: TestSigningKey;
  let jwks: JwksServer;
  let app: INestApplication;
  let baseUrl: string;
  let logged: string;

  beforeAll(async () => {
    key = await generateSigningKey();
    jwks = await startJwksServer([key.publicJwk]);
    const moduleRef = await Test.createTestingModule({
      imports: [
        ServiceHttpModule.forRoot({ maxJsonBodyBytes: 65536 }),
        CREDENTIALS,
        UserAuthModule.forRoot(
          {
            issuer: jwks.url,
            jwks: { timeoutMs: 500, cooldownMs: 60_000, cacheMaxAgeMs: 600_000 },
          },
          sessionsAt(jwks.url),
        ),
      ],
      controllers: [ProbeController],
    }).compile();
    app = moduleRef.createNestApplication({ bodyParser: false, logger: false });
    await app.listen(0, '127.0.0.1');
    baseUrl = await app.getUrl();
  });

  afterAll(async () => {
    await app.close();
    await jwks.close();
  });

  beforeEach(() => {
    logged = '';
    for (const level of ['log', 'warn', 'error'] as const) {
      jest.spyOn(Logger.prototype, level).mockImplementation((...args: unknown[]) => {
        logged += `${JSON.stringify(args)}\n`;
      });
    }
  });

  afterEach(() => jest.restoreAllMocks());

  const token = (options = {}) => signToken(key, jwks.url, { subject: USER_ID, ...options });
  const privateRoute = () => `${baseUrl}/probe/private`;

  const expectUnauthorized = (response: { status: number; body: unknown; headers: Headers }) => {
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ error: 'unauthorized' });
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="backend"');
  };

  it('lets a valid bearer token through and hands the user to @CurrentUser()', async () => {
    const response = await request(privateRoute(), {
      headers: { Authorization: `Bearer ${await token()}` },
    });
    expect(response).toMatchObject({
      status: 200,
      body: { userId: USER_ID, email: 'ada@example.com' },
    });
  });

  it('refuses a token whose session ended, and only that one', async () => {
    const ended = await token();
    const other = await token();
    const response = await request(privateRoute(), {
      headers: { Authorization: `Bearer ${ended}` },
    });
    expect(response.status).toBe(200);
    app.get(RevocationList).revokeLocally(response.body as AuthenticatedUser);

    expectUnauthorized(
      await request(privateRoute(), { headers: { Authorization: `Bearer ${ended}` } }),
    );
    expect(logged).toContain('"reason":"revoked"');
    expect(
      await request(privateRoute(), { headers: { Authorization: `Bearer ${other}` } }),
    ).toMatchObject({ status: 200 });
  });

  it('accepts the scheme in any case', async () => {
    const response = await request(privateRoute(), {
      headers: { Authorization: `bearer ${await token()}` },
    });
    expect(response.status).toBe(200);
  });

  it('opens @Public() routes without a token', async () => {
    expect(await request(`${baseUrl}/probe/public`)).toMatchObject({
      status: 200,
      body: { open: true },
    });
  });

  it('refuses a request without Authorization, and logs why', async () => {
    expectUnauthorized(await request(privateRoute()));
    expect(logged).toContain('"event":"user_auth_denied"');
    expect(logged).toContain('"reason":"missing"');
    expect(logged).toContain('"path":"/probe/private"');
  });

  it('refuses malformed Authorization headers', async () => {
    const valid = await token();
    for (const value of [
      '',
      'Bearer',
      'Bearer ',
      `Basic ${valid}`,
      `Bearer ${valid} extra`,
      `Bearer\t${valid}`,
      `Token ${valid}`,
      valid,
      `Bearer ${'a'.repeat(9000)}`,
    ]) {
      const response = await rawRequest(privateRoute(), { rawHeaders: ['Authorization', value] });
      expectUnauthorized(response);
    }
    expect(logged).toContain('"reason":"malformed"');
  });

  it('refuses a repeated Authorization header, even when both copies are valid', async () => {
    const valid = await token();
    const response = await rawRequest(privateRoute(), {
      rawHeaders: ['Authorization', `Bearer ${valid}`, 'authorization', `Bearer ${valid}`],
    });
    expectUnauthorized(response);
    expect(logged).toContain('"reason":"repeated"');
  });

  it('refuses a token that does not verify, logging the reason but never the token', async () => {
    const expired = await token({ expiresAt: Math.floor(Date.now() / 1000) - 5 });
    const wrongAudience = await token({ audience: 'filesystem' });
    const wrongIssuer = await token({ issuer: 'http://127.0.0.1:1' });
    for (const bad of [expired, wrongAudience, wrongIssuer]) {
      expectUnauthorized(
        await request(privateRoute(), { headers: { Authorization: `Bearer ${bad}` } }),
      );
    }
    expect(logged).toContain('"reason":"ERR_JWT_EXPIRED"');
    expect(logged).toContain('"reason":"ERR_JWT_CLAIM_VALIDATION_FAILED"');
    for (const bad of [expired, wrongAudience, wrongIssuer]) {
      expect(logged).not.toContain(bad.split('.')[2]);
    }
  });

  it('takes the user from the token only, whatever X-User-ID the client sends', async () => {
    const response = await request(privateRoute(), {
      headers: {
        Authorization: `Bearer ${await token()}`,
        'X-User-ID': OTHER_USER_ID,
        'X-INTERNAL-TOKEN': 'x'.repeat(43),
      },
    });
    expect(response).toMatchObject({ status: 200, body: { userId: USER_ID } });
  });

  it('answers 503 auth unavailable when the keys cannot be fetched, then recovers', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ServiceHttpModule.forRoot({ maxJsonBodyBytes: 65536 }),
        CREDENTIALS,
        UserAuthModule.forRoot(
          {
            issuer: jwks.url,
            // No cooldown: the fetch after a failure is tried at once.
            jwks: { timeoutMs: 500, cooldownMs: 0, cacheMaxAgeMs: 600_000 },
          },
          sessionsAt(jwks.url),
        ),
      ],
      controllers: [ProbeController],
    }).compile();
    const fresh = moduleRef.createNestApplication({ bodyParser: false, logger: false });
    await fresh.listen(0, '127.0.0.1');
    try {
      const headers = { Authorization: `Bearer ${await token()}` };
      jwks.mode = 'error';
      expect(await request(`${await fresh.getUrl()}/probe/private`, { headers })).toMatchObject({
        status: 503,
        body: { error: 'auth unavailable' },
      });
      jwks.mode = 'serve';
      expect(await request(`${await fresh.getUrl()}/probe/private`, { headers })).toMatchObject({
        status: 200,
        body: { userId: USER_ID },
      });
    } finally {
      jwks.mode = 'serve';
      await fresh.close();
    }
  });
});
