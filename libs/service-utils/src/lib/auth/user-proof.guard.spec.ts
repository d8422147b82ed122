import { Body, Controller, Get, type INestApplication, Logger, Param, Post } from '@nestjs/common';
import { INTERCEPTORS_METADATA } from '@nestjs/common/constants';
import { Test } from '@nestjs/testing';
import { SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { DEFAULT_KEY_SET, type InternalAuthConfig } from '../config/internal-auth.config';
import type { UserProofConfig } from '../config/user-proof.config';
import { startTestIssuer, type TestIssuer } from '../../testing/test-issuer';
import { ActingUser } from './acting-user.decorator';
import { ActsForUser } from './acts-for-user.decorator';
import { InternalAuthModule } from './internal-auth.module';
import { Scopes } from './scopes.decorator';
import { UserProofInterceptor } from './user-proof.interceptor';
import { UserProofModule } from './user-proof.module';
import { TEST_HTTP_ADAPTERS, testHttpAdapter } from '../../testing/http-adapters';

// @ActsForUser() and its guard over real HTTP against a real Nest app, behind the real
// internal guard in jwt mode, with tokens signed like the issuer's and its JWKS served.
const AUDIENCE = 'billing-server';
const ALICE = '0b6f3c1e-2a44-4f7e-9c1d-3e5a7b9d1f20';
const BOB = '5d2e8a90-7c31-4b6f-8e0a-1f9c3b5d7e42';

const handled: string[] = [];

@Controller()
class ProbeController {
  @Scopes('billing:charge')
  @ActsForUser({ body: 'user_id' })
  @Post('deduct')
  deduct(@Body() body: { user_id: string }): { charged: string } {
    handled.push(body.user_id);
    return { charged: body.user_id };
  }

  @Scopes('billing:balance.read')
  @ActsForUser({ param: 'user_id' })
  @Get('balance/:user_id')
  balance(@Param('user_id') userId: string): { user: string } {
    handled.push(userId);
    return { user: userId };
  }

  @Scopes('files:read')
  @ActsForUser({ header: 'X-User-ID' })
  @Get('files')
  files(@ActingUser('files:read') userId: string): { user: string } {
    handled.push(userId);
    return { user: userId };
  }
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly wwwAuthenticate: string | undefined;
}

/** A request with raw header lines (so a header can be sent twice), JSON body when given. */
function send(method: string, url: string, rawHeaders: string[], json?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = json === undefined ? undefined : JSON.stringify(json);
    const headers = [
      'Host',
      new URL(url).host,
      ...(body === undefined ? [] : ['Content-Type', 'application/json']),
      ...rawHeaders,
    ];
    const outgoing = httpRequest(url, { method, headers }, (incoming) => {
      let text = '';
      incoming.setEncoding('utf8');
      incoming.on('data', (chunk: string) => (text += chunk));
      incoming.on('end', () => {
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // a plain-text answer
        }
        resolve({
          status: incoming.statusCode ?? 0,
          body: parsed,
          wwwAuthenticate: incoming.headers['www-authenticate'],
        });
      });
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

describe.each(TEST_HTTP_ADAPTERS)('UserProofGuard (@ActsForUser) on %s', (adapter) => {
  let issuer: TestIssuer;
  const apps: INestApplication[] = [];

  beforeAll(async () => {
    issuer = await startTestIssuer('/oauth2/jwks');
  });
  beforeEach(() => {
    handled.length = 0;
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await issuer.close();
  });

  const settings = () => ({
    issuer: issuer.url,
    jwksUrl: issuer.jwksUrl,
    audience: AUDIENCE,
    keySet: DEFAULT_KEY_SET,
  });

  async function serve(proof: UserProofConfig['mode']): Promise<string> {
    const internal: InternalAuthConfig = {
      acceptedTokens: [],
      mode: 'jwt',
      serviceTokens: settings(),
    };
    const config: UserProofConfig =
      proof === 'off' ? { mode: 'off' } : { mode: 'required', assertions: settings() };
    const moduleRef = await Test.createTestingModule({
      imports: [InternalAuthModule.forRoot(internal), UserProofModule.forRoot(config)],
      controllers: [ProbeController],
    }).compile();
    const app = moduleRef.createNestApplication(testHttpAdapter(adapter), { logger: false });
    await app.listen(0, '127.0.0.1');
    apps.push(app);
    return app.getUrl();
  }

  const now = () => Math.floor(Date.now() / 1000);
  const serviceToken = (subject = 'backend') =>
    new SignJWT({
      scope: 'billing:charge billing:balance.read files:read files:act-as-user',
      client_id: subject,
    })
      .setProtectedHeader({ alg: 'EdDSA', kid: issuer.publicJwk.kid, typ: 'at+jwt' })
      .setIssuer(issuer.url)
      .setAudience(AUDIENCE)
      .setSubject(subject)
      .setJti(randomUUID())
      .setIssuedAt(now())
      .setExpirationTime(now() + 300)
      .sign(issuer.privateKey);
  interface AssertionClaims {
    user?: string;
    actor?: string;
    typ?: string;
    audience?: string;
    scope?: string;
    exp?: number;
  }
  const assertion = (claims: AssertionClaims = {}) => {
    const actor = claims.actor ?? 'backend';
    return new SignJWT({
      client_id: actor,
      act: { sub: actor },
      scope: claims.scope ?? 'billing:charge billing:balance.read files:read',
    })
      .setProtectedHeader({
        alg: 'EdDSA',
        kid: issuer.publicJwk.kid,
        typ: claims.typ ?? 'user-assertion+jwt',
      })
      .setIssuer(issuer.url)
      .setAudience(claims.audience ?? AUDIENCE)
      .setSubject(claims.user ?? ALICE)
      .setJti(randomUUID())
      .setIssuedAt(now() - 10)
      .setExpirationTime(claims.exp ?? now() + 120)
      .sign(issuer.privateKey);
  };
  const headers = async (proof?: string, caller = 'backend') => [
    'Authorization',
    `Bearer ${await serviceToken(caller)}`,
    ...(proof === undefined ? [] : ['X-User-Assertion', proof]),
  ];
  const proofRequired = {
    status: 401,
    body: { error: 'user proof required' },
    wwwAuthenticate: 'UserAssertion error="invalid_token"',
  };
  const notCovered = { status: 403, body: { error: 'user proof does not cover this request' } };

  describe('USER_PROOF=required', () => {
    let url: string;
    beforeAll(async () => {
      url = await serve('required');
    });

    it("lets the user's own assertion through, wherever the request names the user", async () => {
      const proof = await assertion();
      expect(
        await send('POST', `${url}/deduct`, await headers(proof), { user_id: ALICE }),
      ).toMatchObject({ status: 201, body: { charged: ALICE } });
      expect(await send('GET', `${url}/balance/${ALICE}`, await headers(proof))).toMatchObject({
        status: 200,
        body: { user: ALICE },
      });
      expect(
        await send('GET', `${url}/files`, [...(await headers(proof)), 'X-User-ID', ALICE]),
      ).toMatchObject({ status: 200, body: { user: ALICE } });
      expect(handled).toEqual([ALICE, ALICE, ALICE]);
    });

    it('answers 401 without an assertion, with two, or with one that does not verify; the handler never runs', async () => {
      const good = await assertion();
      const forger = await startTestIssuer('/oauth2/jwks');
      const forged = await new SignJWT({
        client_id: 'backend',
        act: { sub: 'backend' },
        scope: 'billing:charge',
      })
        .setProtectedHeader({ alg: 'EdDSA', kid: issuer.publicJwk.kid, typ: 'user-assertion+jwt' })
        .setIssuer(issuer.url)
        .setAudience(AUDIENCE)
        .setSubject(ALICE)
        .setJti(randomUUID())
        .setIssuedAt(now())
        .setExpirationTime(now() + 60)
        .sign(forger.privateKey);
      await forger.close();
      const cases: Record<string, string[]> = {
        missing: await headers(),
        repeated: [...(await headers(good)), 'X-User-Assertion', good],
        forged: await headers(forged),
        expired: await headers(await assertion({ exp: now() - 5 })),
        otherAudience: await headers(await assertion({ audience: 'filesystem-server' })),
        serviceTokenTyp: await headers(await assertion({ typ: 'at+jwt' })),
        userTokenTyp: await headers(await assertion({ typ: 'JWT' })),
        aServiceToken: await headers(await serviceToken()),
        garbage: await headers('not.a.token'),
      };
      for (const [name, raw] of Object.entries(cases)) {
        const answer = await send('POST', `${url}/deduct`, raw, { user_id: ALICE });
        expect({ name, ...answer }).toEqual({ name, ...proofRequired });
      }
      expect(handled).toEqual([]);
    });

    it("answers 403 to an assertion for another user, another caller's, or without the route's scope", async () => {
      const cases: Record<string, Promise<Answer>> = {
        otherUserInBody: (async () =>
          send('POST', `${url}/deduct`, await headers(await assertion({ user: ALICE })), {
            user_id: BOB,
          }))(),
        otherUserInPath: (async () =>
          send('GET', `${url}/balance/${BOB}`, await headers(await assertion())))(),
        otherUserInHeader: (async () =>
          send('GET', `${url}/files`, [...(await headers(await assertion())), 'X-User-ID', BOB]))(),
        noUserNamed: (async () =>
          send('POST', `${url}/deduct`, await headers(await assertion()), {}))(),
        userIdNotAString: (async () =>
          send('POST', `${url}/deduct`, await headers(await assertion()), { user_id: [ALICE] }))(),
        otherActor: (async () =>
          send('POST', `${url}/deduct`, await headers(await assertion({ actor: 'auth-server' })), {
            user_id: ALICE,
          }))(),
        assertionOfBackendSentByAuthServer: (async () =>
          send('POST', `${url}/deduct`, await headers(await assertion(), 'auth-server'), {
            user_id: ALICE,
          }))(),
        noScopeForTheRoute: (async () =>
          send(
            'POST',
            `${url}/deduct`,
            await headers(await assertion({ scope: 'billing:balance.read' })),
            {
              user_id: ALICE,
            },
          ))(),
      };
      for (const [name, answer] of Object.entries(cases)) {
        expect({ name, ...(await answer) }).toMatchObject({ name, ...notCovered });
      }
      expect(handled).toEqual([]);
    });

    it('still needs the service token first: an assertion alone is the internal guard’s 401', async () => {
      const answer = await send('POST', `${url}/deduct`, ['X-User-Assertion', await assertion()], {
        user_id: ALICE,
      });
      expect(answer).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
      expect(handled).toEqual([]);
    });
  });

  describe('USER_PROOF=off', () => {
    it('lets the calling service name any user, as before', async () => {
      const url = await serve('off');
      expect(await send('POST', `${url}/deduct`, await headers(), { user_id: BOB })).toMatchObject({
        status: 201,
        body: { charged: BOB },
      });
    });
  });

  it('adds its interceptor only where the body names the user: an interceptor costs each request', () => {
    const interceptorsOf = (handler: unknown): unknown[] =>
      (Reflect.getMetadata(INTERCEPTORS_METADATA, handler as object) as unknown[] | undefined) ??
      [];
    const { prototype } = ProbeController;
    expect(interceptorsOf(prototype.deduct)).toEqual([UserProofInterceptor]);
    expect(interceptorsOf(prototype.balance)).toEqual([]);
    expect(interceptorsOf(prototype.files)).toEqual([]);
  });

  it('refuses to build a route with @ActsForUser() in an app without UserProofModule', async () => {
    const moduleRef = Test.createTestingModule({
      imports: [
        InternalAuthModule.forRoot({ acceptedTokens: [], mode: 'jwt', serviceTokens: settings() }),
      ],
      controllers: [ProbeController],
    });
    await expect(moduleRef.compile()).rejects.toThrow(/UserProofModule/);
  });
});
