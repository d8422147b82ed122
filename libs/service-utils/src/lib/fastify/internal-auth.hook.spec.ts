import { Logger } from '@nestjs/common';
import Fastify, { type FastifyInstance } from 'fastify';
import {
  describeInternalAuthAdapter,
  get,
  SHARED,
  type StartApp,
} from '../../testing/internal-auth-scenarios';
import { verifiedCallerOf } from '../auth/verified-caller';
import { internalAuthHook } from './internal-auth.hook';

/** A plain Fastify 5 app (no Nest) with the routes the shared scenarios call. */
// #region fastify-app
const startFastifyApp: StartApp = async (config, events) => {
  const app = Fastify();
  app.addHook('onRequest', internalAuthHook({ config, events }));
  app.get('/health', { config: { internalAuth: 'public' } }, async () => ({ status: 'ok' }));
  app.get(
    '/charge',
    { config: { internalAuth: { scopes: ['billing:charge'] } } },
    async (request) => ({
      caller: request.internalCaller?.name ?? null,
      verified: verifiedCallerOf(request.raw)?.name ?? null,
      scopes: [...(request.internalCaller?.scopes ?? [])],
    }),
  );
  app.get(
    '/as-user',
    { config: { internalAuth: { scopes: ['files:read'], actingUser: 'files:act-as-user' } } },
    async (request) => ({
      user: request.actingUserId,
      caller: request.internalCaller?.name ?? null,
    }),
  );
  app.get(
    '/introspected',
    { config: { internalAuth: { scopes: ['billing:charge'], introspected: true } } },
    async (request) => ({ caller: request.internalCaller?.name ?? null }),
  );
  // No config at all: the hook refuses every caller, as for an undeclared Nest route.
  app.get('/undeclared', async () => ({ reached: true }));
  return listen(app);
};
// #endregion

async function listen(app: FastifyInstance): Promise<{ url: string; close: () => Promise<void> }> {
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, close: () => app.close() };
}

describeInternalAuthAdapter('Fastify', startFastifyApp);

describe(internalAuthHook.name, () => {
  beforeEach(() => jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  it('refuses a path no route serves, without a credential, as it refuses an unconfigured route', async () => {
    const app = Fastify();
    app.addHook(
      'onRequest',
      internalAuthHook({ config: { sendToken: SHARED, acceptedTokens: [SHARED] } }),
    );
    app.get('/open', { config: { internalAuth: 'public' } }, async () => 'open');
    app.get('/plain', async () => 'plain');
    const { url, close } = await listen(app);
    try {
      expect(await get(`${url}/nowhere`)).toMatchObject({
        status: 403,
        body: { error: 'Forbidden' },
      });
      expect(await get(`${url}/plain`)).toMatchObject({ status: 403 });
      expect(await get(`${url}/plain`, ['X-INTERNAL-TOKEN', SHARED])).toMatchObject({
        status: 200,
        body: 'plain',
      });
      expect(await get(`${url}/open`)).toMatchObject({ status: 200, body: 'open' });
    } finally {
      await close();
    }
  });
});
