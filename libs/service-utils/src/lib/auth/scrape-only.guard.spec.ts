import { Controller, Get, type INestApplication, Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SignJWT } from 'jose';
import { randomBytes, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import {
  DEFAULT_KEY_SET,
  type InternalAuthConfig,
  type InternalAuthMode,
} from '../config/internal-auth.config';
import { listRoutes } from '../routes/route-inventory';
import { startTestIssuer, type TestIssuer } from '../../testing/test-issuer';
import type { InternalAuthDeniedReason } from './internal-auth-denied.reason';
import { InternalAuthEvents } from './internal-auth-events';
import { InternalAuthModule } from './internal-auth.module';
import { ScrapeOnly } from './scrape-only.decorator';
import { Scopes } from './scopes.decorator';
import { TEST_HTTP_ADAPTERS, testHttpAdapter } from '../../testing/http-adapters';

// `@ScrapeOnly()` (GET /metrics) in each mode, over real HTTP against a real Nest app: the
// read-only scrape credential opens it, the shared token (which can move money) does not, and
// the scrape credential opens nothing else.
const SHARED = 'q3V9sLk2Xw8RzT1mN6pB4yH7cJ0dF5gA';
const METRICS = randomBytes(32).toString('base64url');
const AUDIENCE = 'billing-server';

@Controller()
class ProbeController {
  @ScrapeOnly()
  @Scopes('metrics:read')
  @Get('metrics')
  metrics(): string {
    return 'up 1';
  }

  @Scopes('billing:charge')
  @Get('charge')
  charge(): string {
    return 'charged';
  }
}

class RecordedEvents extends InternalAuthEvents {
  readonly refused: InternalAuthDeniedReason[] = [];
  denied(reason: InternalAuthDeniedReason): void {
    this.refused.push(reason);
  }
}

interface Answer {
  readonly status: number;
  readonly wwwAuthenticate: string | undefined;
}

/** GET with raw header lines, so a header can be sent twice. */
function get(url: string, rawHeaders: string[] = []): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = ['Host', new URL(url).host, ...rawHeaders];
    const outgoing = httpRequest(url, { headers }, (incoming) => {
      incoming.resume();
      incoming.on('end', () =>
        resolve({
          status: incoming.statusCode ?? 0,
          wwwAuthenticate: incoming.headers['www-authenticate'],
        }),
      );
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

const REFUSED = { status: 401, wwwAuthenticate: 'Bearer error="invalid_token"' };

describe.each(TEST_HTTP_ADAPTERS)(
  'InternalTokenGuard on a @ScrapeOnly() route on %s',
  (adapter) => {
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
      { metricsToken = METRICS }: { metricsToken?: string | null } = {},
    ): Promise<{ url: string; events: RecordedEvents }> {
      const events = new RecordedEvents();
      const config: InternalAuthConfig = {
        sendToken: SHARED,
        acceptedTokens: mode === 'jwt' ? [] : [SHARED],
        mode,
        ...(metricsToken === null ? {} : { metricsToken }),
        serviceTokens: {
          issuer: issuer.url,
          jwksUrl: issuer.jwksUrl,
          audience: AUDIENCE,
          keySet: DEFAULT_KEY_SET,
        },
      };
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

    const serviceToken = (scope: string, subject = 'metrics-scraper'): Promise<string> => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ scope, client_id: subject })
        .setProtectedHeader({ alg: 'EdDSA', kid: issuer.publicJwk.kid, typ: 'at+jwt' })
        .setIssuer(issuer.url)
        .setAudience(AUDIENCE)
        .setSubject(subject)
        .setJti(randomUUID())
        .setIssuedAt(now)
        .setExpirationTime(now + 300)
        .sign(issuer.privateKey);
    };
    const bearer = (token: string) => ['Authorization', `Bearer ${token}`];
    const shared = ['X-INTERNAL-TOKEN', SHARED];

    it('lists the route as scrape-only (and internal-only, never public)', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [InternalAuthModule.forRoot({ acceptedTokens: [SHARED] })],
        controllers: [ProbeController],
      }).compile();
      const app = moduleRef.createNestApplication(testHttpAdapter(adapter), { logger: false });
      await app.init();
      expect(listRoutes(app).find((route) => route.path === '/metrics')).toMatchObject({
        isPublic: false,
        isInternalOnly: true,
        isScrapeOnly: true,
        scopes: ['metrics:read'],
      });
      await app.close();
    });

    describe('token mode', () => {
      it('opens /metrics to the metrics token as a bearer, the scheme in any case', async () => {
        const { url } = await serve('token');
        expect(await get(`${url}/metrics`, bearer(METRICS))).toMatchObject({ status: 200 });
        const lower = ['authorization', `bearer ${METRICS}`];
        expect(await get(`${url}/metrics`, lower)).toMatchObject({ status: 200 });
      });

      it('refuses the shared X-INTERNAL-TOKEN on /metrics, alone or as a bearer', async () => {
        const { url, events } = await serve('token');
        expect(await get(`${url}/metrics`, shared)).toEqual(REFUSED);
        expect(await get(`${url}/metrics`, bearer(SHARED))).toEqual(REFUSED);
        expect(events.refused).toEqual(['bearer_missing', 'metrics_token_mismatch']);
      });

      it('refuses a missing, wrong, malformed or repeated bearer with 401', async () => {
        const { url, events } = await serve('token');
        expect(await get(`${url}/metrics`)).toEqual(REFUSED);
        expect(await get(`${url}/metrics`, bearer(`${METRICS}x`))).toEqual(REFUSED);
        expect(await get(`${url}/metrics`, ['Authorization', `Basic ${METRICS}`])).toEqual(REFUSED);
        expect(await get(`${url}/metrics`, [...bearer(METRICS), ...bearer(METRICS)])).toEqual(
          REFUSED,
        );
        expect(events.refused).toEqual([
          'bearer_missing',
          'metrics_token_mismatch',
          'bearer_malformed',
          'bearer_repeated',
        ]);
      });

      it('opens nothing else with the metrics token, in either header', async () => {
        const { url, events } = await serve('token');
        expect(await get(`${url}/charge`, bearer(METRICS))).toMatchObject({ status: 403 });
        expect(await get(`${url}/charge`, ['X-INTERNAL-TOKEN', METRICS])).toMatchObject({
          status: 403,
        });
        expect(events.refused).toEqual(['missing', 'mismatch']);
        // The shared token still opens the internal route.
        expect(await get(`${url}/charge`, shared)).toMatchObject({ status: 200 });
      });

      it('refuses every scrape when no metrics token is configured', async () => {
        const { url, events } = await serve('token', { metricsToken: null });
        expect(await get(`${url}/metrics`, bearer(METRICS))).toEqual(REFUSED);
        expect(await get(`${url}/metrics`, shared)).toEqual(REFUSED);
        expect(events.refused).toEqual(['metrics_token_unset', 'bearer_missing']);
      });
    });

    describe('token+jwt mode', () => {
      it('opens /metrics to the metrics token or to a metrics:read service token, without X-INTERNAL-TOKEN', async () => {
        const { url } = await serve('token+jwt');
        expect(await get(`${url}/metrics`, bearer(METRICS))).toMatchObject({ status: 200 });
        const scraper = await serviceToken('metrics:read');
        expect(await get(`${url}/metrics`, bearer(scraper))).toMatchObject({ status: 200 });
      });

      it('refuses the shared token, and a service token without metrics:read', async () => {
        const { url, events } = await serve('token+jwt');
        expect(await get(`${url}/metrics`, shared)).toEqual(REFUSED);
        const charger = await serviceToken('billing:charge', 'backend');
        expect(await get(`${url}/metrics`, [...shared, ...bearer(charger)])).toEqual({
          status: 403,
          wwwAuthenticate: 'Bearer error="insufficient_scope"',
        });
        expect(events.refused).toEqual(['bearer_missing', 'insufficient_scope']);
      });

      it('opens nothing else with either scrape credential', async () => {
        const { url } = await serve('token+jwt');
        const scraper = await serviceToken('metrics:read');
        expect(await get(`${url}/charge`, [...shared, ...bearer(METRICS)])).toMatchObject({
          status: 401,
        });
        expect(await get(`${url}/charge`, [...shared, ...bearer(scraper)])).toMatchObject({
          status: 403,
        });
        const charger = await serviceToken('billing:charge', 'backend');
        expect(await get(`${url}/charge`, [...shared, ...bearer(charger)])).toMatchObject({
          status: 200,
        });
      });
    });

    describe('jwt mode', () => {
      it('opens /metrics to a metrics:read service token only, not to a metrics token', async () => {
        const { url, events } = await serve('jwt');
        const scraper = await serviceToken('metrics:read');
        expect(await get(`${url}/metrics`, bearer(scraper))).toMatchObject({ status: 200 });
        expect(await get(`${url}/metrics`, bearer(METRICS))).toEqual(REFUSED);
        expect(events.refused).toEqual(['bearer_malformed']);
      });
    });
  },
);
