import { Controller, Get, type INestApplication, Logger, Req } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { FrameworkRequest } from '../http/node-message';
import { SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import {
  DEFAULT_KEY_SET,
  type InternalAuthConfig,
  type InternalAuthMode,
} from '../config/internal-auth.config';
import type { InternalAuthDeniedReason } from './internal-auth-denied.reason';
import { InternalAuthEvents } from './internal-auth-events';
import { InternalAuthModule } from './internal-auth.module';
import { ActingUser } from './acting-user.decorator';
import { Public } from './public.decorator';
import { Scopes } from './scopes.decorator';
import { verifiedCallerOf } from './verified-caller';
import { listRoutes } from '../routes/route-inventory';
import { startTestIssuer, type TestIssuer } from '../../testing/test-issuer';
import { TEST_HTTP_ADAPTERS, testHttpAdapter } from '../../testing/http-adapters';

// The guard's service-identity modes (DESIGN section 9), each over real HTTP against a real
// Nest app, with service tokens signed like the issuer's and its JWKS served by a real server.
const SHARED = 'q3V9sLk2Xw8RzT1mN6pB4yH7cJ0dF5gA';
const AUDIENCE = 'billing-server';

@Controller()
class ProbeController {
  @Scopes('billing:charge')
  @Get('charge')
  charge(@Req() request: FrameworkRequest): { caller: string | null } {
    return { caller: verifiedCallerOf(request)?.name ?? null };
  }

  @Scopes('files:read')
  @Get('as-user')
  asUser(@ActingUser('files:act-as-user') userId: string): { user: string } {
    return { user: userId };
  }

  @Get('undeclared')
  undeclared(): string {
    return 'undeclared';
  }

  @Public()
  @Get('health')
  health(): string {
    return 'ok';
  }
}

class RecordedEvents extends InternalAuthEvents {
  readonly refused: InternalAuthDeniedReason[] = [];
  readonly rehearsed: InternalAuthDeniedReason[] = [];
  denied(reason: InternalAuthDeniedReason): void {
    this.refused.push(reason);
  }
  override shadowDenied(reason: InternalAuthDeniedReason): void {
    this.rehearsed.push(reason);
  }
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly wwwAuthenticate: string | undefined;
}

/** GET with raw header lines, so a header can be sent twice. */
function get(url: string, rawHeaders: string[] = []): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // Raw header lines (Node's rawHeaders form) carry no Host of their own.
    const headers = ['Host', new URL(url).host, ...rawHeaders];
    const outgoing = httpRequest(url, { headers }, (incoming) => {
      let text = '';
      incoming.setEncoding('utf8');
      incoming.on('data', (chunk: string) => (text += chunk));
      incoming.on('end', () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // a plain-text answer
        }
        const challenge = incoming.headers['www-authenticate'];
        resolve({ status: incoming.statusCode ?? 0, body, wwwAuthenticate: challenge });
      });
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

describe.each(TEST_HTTP_ADAPTERS)('InternalTokenGuard with service identity on %s', (adapter) => {
  let issuer: TestIssuer;
  const apps: INestApplication[] = [];

  beforeAll(async () => {
    issuer = await startTestIssuer('/oauth2/jwks');
  });

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => jest.restoreAllMocks());

  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await issuer.close();
  });

  async function serve(
    mode: InternalAuthMode,
    { shadow, keysAt }: { shadow?: 'jwt'; keysAt?: string } = {},
  ): Promise<{ url: string; events: RecordedEvents }> {
    const events = new RecordedEvents();
    const config: InternalAuthConfig = {
      sendToken: SHARED,
      acceptedTokens: [SHARED],
      mode,
      ...(shadow ? { shadow } : {}),
      serviceTokens: {
        issuer: issuer.url,
        jwksUrl: keysAt ? new URL(keysAt) : issuer.jwksUrl,
        audience: AUDIENCE,
        keySet: DEFAULT_KEY_SET,
      },
    };
    // Global, as the chassis's MetricsModule is: the guard lives in InternalAuthModule.
    const eventsModule = {
      module: class EventsModule {},
      global: true,
      providers: [{ provide: InternalAuthEvents, useValue: events }],
      exports: [InternalAuthEvents],
    };
    const moduleRef = await Test.createTestingModule({
      imports: [eventsModule, InternalAuthModule.forRoot(config)],
      controllers: [ProbeController],
    }).compile();
    const app = moduleRef.createNestApplication(testHttpAdapter(adapter), { logger: false });
    await app.listen(0, '127.0.0.1');
    apps.push(app);
    return { url: await app.getUrl(), events };
  }

  interface Claims {
    typ?: string;
    audience?: string;
    scope?: string;
    subject?: string;
  }
  const serviceToken = (claims: Claims = {}): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    const subject = claims.subject ?? 'backend';
    return new SignJWT({ scope: claims.scope ?? 'billing:charge', client_id: subject })
      .setProtectedHeader({ alg: 'EdDSA', kid: issuer.publicJwk.kid, typ: claims.typ ?? 'at+jwt' })
      .setIssuer(issuer.url)
      .setAudience(claims.audience ?? AUDIENCE)
      .setSubject(subject)
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(issuer.privateKey);
  };
  const bearer = async (claims?: Claims) => [
    'Authorization',
    `Bearer ${await serviceToken(claims)}`,
  ];
  const shared = ['X-INTERNAL-TOKEN', SHARED];

  const invalidToken = {
    status: 401,
    body: { error: 'unauthorized' },
    wwwAuthenticate: 'Bearer error="invalid_token"',
  };
  const insufficientScope = {
    status: 403,
    body: { error: 'Forbidden' },
    wwwAuthenticate: 'Bearer error="insufficient_scope"',
  };

  describe('jwt', () => {
    let url: string;
    let events: RecordedEvents;
    beforeAll(async () => ({ url, events } = await serve('jwt')));

    it('lets a service token with a scope of the route through, and names the verified caller', async () => {
      expect(await get(`${url}/charge`, await bearer())).toMatchObject({
        status: 200,
        body: { caller: 'backend' },
      });
    });

    it('answers a token it verified before as the first time: its caller, its scopes, one header', async () => {
      const seen = await bearer();
      for (let i = 0; i < 3; i += 1) {
        expect(await get(`${url}/charge`, seen)).toMatchObject({
          status: 200,
          body: { caller: 'backend' },
        });
      }
      // Remembered, but its scope does not fit this route; nor is it honoured twice over.
      expect(await get(`${url}/as-user`, seen)).toEqual(insufficientScope);
      expect(await get(`${url}/charge`, [...seen, ...seen])).toEqual(invalidToken);
      expect(await get(`${url}/undeclared`, seen)).toMatchObject({ status: 403 });
    });

    it('answers 401 invalid_token without a bearer, with two, or with the shared token alone', async () => {
      expect(await get(`${url}/charge`)).toEqual(invalidToken);
      expect(await get(`${url}/charge`, shared)).toEqual(invalidToken);
      const twice = [...(await bearer()), ...(await bearer())];
      expect(await get(`${url}/charge`, twice)).toEqual(invalidToken);
      expect(await get(`${url}/charge`, ['Authorization', 'Basic YmFja2VuZDpzZWNyZXQ='])).toEqual(
        invalidToken,
      );
      expect(events.refused.slice(-4)).toEqual([
        'bearer_missing',
        'bearer_missing',
        'bearer_repeated',
        'bearer_malformed',
      ]);
    });

    it('refuses a user token as a service token, and a token for another service', async () => {
      expect(await get(`${url}/charge`, await bearer({ typ: 'JWT' }))).toEqual(invalidToken);
      expect(await get(`${url}/charge`, await bearer({ audience: 'filesystem-server' }))).toEqual(
        invalidToken,
      );
      expect(events.refused.slice(-2)).toEqual(['token_rejected', 'token_rejected']);
    });

    it('answers 403 insufficient_scope for a scope the route does not accept, and for a route without a declaration', async () => {
      expect(await get(`${url}/charge`, await bearer({ scope: 'files:read' }))).toEqual(
        insufficientScope,
      );
      expect(await get(`${url}/undeclared`, await bearer())).toEqual(insufficientScope);
      expect(events.refused.slice(-2)).toEqual(['insufficient_scope', 'no_scopes_declared']);
    });

    it('honours X-User-ID only from a caller whose token may act as a user', async () => {
      const asUser = ['X-User-ID', 'user-1'];
      expect(
        await get(`${url}/as-user`, [
          ...(await bearer({ scope: 'files:read files:act-as-user' })),
          ...asUser,
        ]),
      ).toMatchObject({ status: 200, body: { user: 'user-1' } });
      expect(
        await get(`${url}/as-user`, [...(await bearer({ scope: 'files:read' })), ...asUser]),
      ).toMatchObject({ status: 403, body: { error: 'Forbidden' } });
    });

    it("lists each route's declared scopes in the route inventory", () => {
      const scopes = Object.fromEntries(
        listRoutes(apps[0]).map((route) => [route.path, route.scopes]),
      );
      expect(scopes).toEqual({
        '/as-user': ['files:read'],
        '/charge': ['billing:charge'],
        '/undeclared': undefined,
        '/health': undefined,
      });
    });

    it('keeps a public route open', async () => {
      expect(await get(`${url}/health`)).toMatchObject({ status: 200, body: 'ok' });
    });

    it("answers 503 when the issuer's keys cannot be had: the token may be valid", async () => {
      const unreachable = await serve('jwt', { keysAt: `${issuer.url}/missing` });
      expect(await get(`${unreachable.url}/charge`, await bearer())).toMatchObject({
        status: 503,
        body: { error: 'auth unavailable' },
      });
      expect(unreachable.events.refused).toEqual(['keys_unavailable']);
    });
  });

  describe('token+jwt', () => {
    let url: string;
    beforeAll(async () => ({ url } = await serve('token+jwt')));

    it('needs both: the shared token first (403 without it), then the service token (401 without it)', async () => {
      expect(await get(`${url}/charge`, await bearer())).toMatchObject({
        status: 403,
        body: { error: 'Forbidden' },
      });
      expect(await get(`${url}/charge`, shared)).toEqual(invalidToken);
      expect(await get(`${url}/charge`, [...shared, ...(await bearer())])).toMatchObject({
        status: 200,
        body: { caller: 'backend' },
      });
    });
  });

  describe('token, with the jwt shadow', () => {
    it('refuses nothing the shared token allows, and reports what jwt mode would refuse', async () => {
      const { url, events } = await serve('token', { shadow: 'jwt' });
      expect(await get(`${url}/charge`, shared)).toMatchObject({
        status: 200,
        body: { caller: null },
      });
      expect(await get(`${url}/undeclared`, [...shared, ...(await bearer())])).toMatchObject({
        status: 200,
      });
      expect(await get(`${url}/charge`, [...shared, ...(await bearer())])).toMatchObject({
        status: 200,
      });
      expect(events.rehearsed).toEqual(['bearer_missing', 'no_scopes_declared']);
      // Without a verified service token, X-User-ID is honoured as before.
      expect(await get(`${url}/as-user`, [...shared, 'X-User-ID', 'user-2'])).toMatchObject({
        status: 200,
        body: { user: 'user-2' },
      });
      expect(events.refused).toEqual([]);
      // The shared token is still the rule.
      expect(await get(`${url}/charge`, await bearer())).toMatchObject({ status: 403 });
    });
  });
});
