import { Logger } from '@nestjs/common';
import { SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import {
  DEFAULT_KEY_SET,
  type InternalAuthConfig,
  type InternalAuthMode,
} from '../lib/config/internal-auth.config';
import type { InternalAuthDeniedReason } from '../lib/auth/internal-auth-denied.reason';
import { InternalAuthEvents } from '../lib/auth/internal-auth-events';
import { startOAuthEndpoint } from './scripted-oauth-endpoint';
import { startTestIssuer, type TestIssuer } from './test-issuer';

// The same promises as the NestJS guard's (service-identity.guard.spec.ts), kept by a small
// non-Nest app (Express, Fastify) on a real port, over real HTTP, with service tokens signed
// like the issuer's and its JWKS served by a real server.

/** The shared token of these apps (a test value, not a secret). */
export const SHARED = 'q3V9sLk2Xw8RzT1mN6pB4yH7cJ0dF5gA';
/** The service the apps play: the audience their tokens must name. */
export const AUDIENCE = 'billing-server';

/**
 * The routes each app under test serves, whatever its framework:
 * - `GET /health`: open;
 * - `GET /charge`: scope `billing:charge`; answers `{ caller, verified }` (the framework's
 *   `internalCaller`, and `verifiedCallerOf` of the node request);
 * - `GET /as-user`: scope `files:read`, acting user with `files:act-as-user`; answers `{ user, caller }`;
 * - `GET /introspected`: scope `billing:charge`, introspected; answers `{ caller }`;
 * - `GET /undeclared`: no scopes.
 */
export type StartApp = (
  config: InternalAuthConfig,
  events: InternalAuthEvents,
) => Promise<{ url: string; close: () => Promise<void> }>;

/** Refusals and rehearsals the check reported. */
export class RecordedEvents extends InternalAuthEvents {
  readonly refused: InternalAuthDeniedReason[] = [];
  readonly rehearsed: InternalAuthDeniedReason[] = [];
  denied(reason: InternalAuthDeniedReason): void {
    this.refused.push(reason);
  }
  override shadowDenied(reason: InternalAuthDeniedReason): void {
    this.rehearsed.push(reason);
  }
}

/** An HTTP answer as a test reads it. */
export interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly wwwAuthenticate: string | undefined;
}

/** GET with raw header lines, so a header can be sent twice. */
export function get(url: string, rawHeaders: string[] = []): Promise<Answer> {
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

/** What a test token may get wrong. */
export interface Claims {
  readonly typ?: string;
  readonly audience?: string;
  readonly scope?: string;
  readonly subject?: string;
  /** Seconds from now; negative for an expired token. */
  readonly expiresIn?: number;
}

/** A service token as the issuer would sign it (for `backend`, scope `billing:charge`). */
export function signServiceToken(issuer: TestIssuer, claims: Claims = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const subject = claims.subject ?? 'backend';
  const expiresIn = claims.expiresIn ?? 300;
  return new SignJWT({ scope: claims.scope ?? 'billing:charge', client_id: subject })
    .setProtectedHeader({ alg: 'EdDSA', kid: issuer.publicJwk.kid, typ: claims.typ ?? 'at+jwt' })
    .setIssuer(issuer.url)
    .setAudience(claims.audience ?? AUDIENCE)
    .setSubject(subject)
    .setJti(randomUUID())
    .setIssuedAt(expiresIn > 0 ? now : now + expiresIn - 60)
    .setExpirationTime(now + expiresIn)
    .sign(issuer.privateKey);
}

/**
 * Defines the suite every adapter of the kit's check must pass: `start` serves the routes of
 * {@link StartApp} in a small app of its framework.
 */
export function describeInternalAuthAdapter(framework: string, start: StartApp): void {
  describe(`the internal-auth check in a plain ${framework} app`, () => {
    let issuer: TestIssuer;
    const closers: (() => Promise<void>)[] = [];

    beforeAll(async () => {
      issuer = await startTestIssuer('/oauth2/jwks');
    });
    beforeEach(() => {
      jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    });
    afterEach(() => jest.restoreAllMocks());
    afterAll(async () => {
      await Promise.all(closers.map((close) => close()));
      await issuer.close();
    });

    async function serve(
      mode: InternalAuthMode,
      extra: Partial<InternalAuthConfig> & { keysAt?: string } = {},
    ): Promise<{ url: string; events: RecordedEvents }> {
      const events = new RecordedEvents();
      const { keysAt, ...rest } = extra;
      const config: InternalAuthConfig = {
        sendToken: SHARED,
        acceptedTokens: [SHARED],
        mode,
        serviceTokens: {
          issuer: issuer.url,
          jwksUrl: keysAt ? new URL(keysAt) : issuer.jwksUrl,
          audience: AUDIENCE,
          keySet: DEFAULT_KEY_SET,
        },
        ...rest,
      };
      const app = await start(config, events);
      closers.push(app.close);
      return { url: app.url, events };
    }

    const bearer = async (claims?: Claims) => [
      'Authorization',
      `Bearer ${await signServiceToken(issuer, claims)}`,
    ];
    const shared = ['X-INTERNAL-TOKEN', SHARED];
    const forbidden = { status: 403, body: { error: 'Forbidden' }, wwwAuthenticate: undefined };
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

    describe('token mode', () => {
      let url: string;
      let events: RecordedEvents;
      beforeAll(async () => ({ url, events } = await serve('token')));

      it('lets the shared token through, with no caller identity', async () => {
        expect(await get(`${url}/charge`, shared)).toMatchObject({
          status: 200,
          body: { caller: null, verified: null },
        });
      });

      it('answers 403 {"error":"Forbidden"} without it, with a wrong one, or with two', async () => {
        expect(await get(`${url}/charge`)).toEqual(forbidden);
        expect(await get(`${url}/charge`, ['X-INTERNAL-TOKEN', SHARED.replace('q', 'Q')])).toEqual(
          forbidden,
        );
        expect(await get(`${url}/charge`, [...shared, ...shared])).toEqual(forbidden);
        expect(await get(`${url}/charge`, ['X-INTERNAL-TOKEN', `${SHARED},${SHARED}`])).toEqual(
          forbidden,
        );
        expect(events.refused.slice(-4)).toEqual([
          'missing',
          'mismatch',
          'repeated',
          'comma_joined',
        ]);
      });

      it('keeps a public route open', async () => {
        expect(await get(`${url}/health`)).toMatchObject({ status: 200, body: { status: 'ok' } });
      });

      it('reads X-User-ID after the check: 400 when missing, the user when present', async () => {
        expect(await get(`${url}/as-user`, [...shared, 'X-User-ID', 'user-1'])).toMatchObject({
          status: 200,
          body: { user: 'user-1' },
        });
        expect(await get(`${url}/as-user`, shared)).toMatchObject({
          status: 400,
          body: { error: 'X-User-ID header is required' },
        });
        expect(await get(`${url}/as-user`, ['X-User-ID', 'user-1'])).toEqual(forbidden);
      });
    });

    describe('jwt mode', () => {
      let url: string;
      let events: RecordedEvents;
      beforeAll(async () => ({ url, events } = await serve('jwt')));

      it('lets a service token with a scope of the route through, and hands the handler its caller', async () => {
        const token = await bearer();
        for (let i = 0; i < 2; i += 1) {
          // The second time, the token is one verified before (answered synchronously).
          expect(await get(`${url}/charge`, token)).toMatchObject({
            status: 200,
            body: { caller: 'backend', verified: 'backend', scopes: ['billing:charge'] },
          });
        }
      });

      it('names the verified caller, not the one X-Caller-Service claims', async () => {
        expect(
          await get(`${url}/charge`, [...(await bearer()), 'X-Caller-Service', 'auth-server']),
        ).toMatchObject({ status: 200, body: { caller: 'backend' } });
      });

      it('answers 401 invalid_token without a bearer, with two, with a malformed one or the shared token alone', async () => {
        expect(await get(`${url}/charge`)).toEqual(invalidToken);
        expect(await get(`${url}/charge`, shared)).toEqual(invalidToken);
        const token = await bearer();
        expect(await get(`${url}/charge`, [...token, ...token])).toEqual(invalidToken);
        expect(await get(`${url}/charge`, ['Authorization', 'Bearer not-a-token'])).toEqual(
          invalidToken,
        );
        expect(events.refused.slice(-4)).toEqual([
          'bearer_missing',
          'bearer_missing',
          'bearer_repeated',
          'bearer_malformed',
        ]);
      });

      it('answers 401 invalid_token for a token for another service, an expired one, a user token, a forged one', async () => {
        expect(await get(`${url}/charge`, await bearer({ audience: 'filesystem-server' }))).toEqual(
          invalidToken,
        );
        expect(await get(`${url}/charge`, await bearer({ expiresIn: -30 }))).toEqual(invalidToken);
        expect(await get(`${url}/charge`, await bearer({ typ: 'JWT' }))).toEqual(invalidToken);
        const [name, value] = await bearer();
        const forged = `${value.slice(0, -4)}${value.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
        expect(await get(`${url}/charge`, [name, forged])).toEqual(invalidToken);
        expect(events.refused.slice(-4)).toEqual([
          'token_rejected',
          'token_rejected',
          'token_rejected',
          'token_rejected',
        ]);
      });

      it('answers 403 insufficient_scope for a scope the route does not accept, and on a route that declares none', async () => {
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
        ).toMatchObject({ status: 200, body: { user: 'user-1', caller: 'backend' } });
        expect(
          await get(`${url}/as-user`, [...(await bearer({ scope: 'files:read' })), ...asUser]),
        ).toMatchObject({ status: 403, body: { error: 'Forbidden' } });
      });

      it('keeps a public route open', async () => {
        expect(await get(`${url}/health`)).toMatchObject({ status: 200, body: { status: 'ok' } });
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

    describe('token+jwt mode', () => {
      it('needs both: the shared token first (403 without it), then the service token (401 without it)', async () => {
        const { url } = await serve('token+jwt');
        expect(await get(`${url}/charge`, await bearer())).toEqual(forbidden);
        expect(await get(`${url}/charge`, shared)).toEqual(invalidToken);
        expect(await get(`${url}/charge`, [...shared, ...(await bearer())])).toMatchObject({
          status: 200,
          body: { caller: 'backend' },
        });
      });
    });

    describe('an introspected route', () => {
      it('asks the issuer: 200 while active, 401 once revoked, 503 when it cannot say', async () => {
        let answer = { status: 200, body: '' };
        const endpoint = await startOAuthEndpoint(() => answer);
        closers.push(endpoint.close);
        const { url, events } = await serve('jwt', {
          introspection: {
            endpoint: endpoint.url,
            client: { clientId: AUDIENCE, clientSecret: 'x'.repeat(43) },
            timeoutMs: 1000,
            cacheMs: 0,
          },
        });
        const exp = Math.floor(Date.now() / 1000) + 300;
        answer = { status: 200, body: JSON.stringify({ active: true, aud: AUDIENCE, exp }) };
        const token = await bearer();
        expect(await get(`${url}/introspected`, token)).toMatchObject({
          status: 200,
          body: { caller: 'backend' },
        });
        answer = { status: 200, body: JSON.stringify({ active: false }) };
        expect(await get(`${url}/introspected`, token)).toEqual(invalidToken);
        answer = { status: 500, body: '{}' };
        expect(await get(`${url}/introspected`, token)).toMatchObject({
          status: 503,
          body: { error: 'auth unavailable' },
        });
        // A route that does not introspect verifies locally only.
        expect(await get(`${url}/charge`, token)).toMatchObject({ status: 200 });
        expect(events.refused).toEqual(['token_inactive', 'introspection_unavailable']);
        expect(endpoint.received).toHaveLength(3);
      });
    });

    describe('token mode with the jwt shadow', () => {
      it('refuses nothing the shared token allows, and reports what jwt mode would refuse', async () => {
        const { url, events } = await serve('token', { shadow: 'jwt' });
        expect(await get(`${url}/charge`, shared)).toMatchObject({
          status: 200,
          body: { caller: null },
        });
        expect(await get(`${url}/undeclared`, [...shared, ...(await bearer())])).toMatchObject({
          status: 200,
        });
        expect(events.rehearsed).toEqual(['bearer_missing', 'no_scopes_declared']);
        expect(events.refused).toEqual([]);
      });
    });
  });
}
