import { Logger } from '@nestjs/common';
import express, { type Express } from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  describeInternalAuthAdapter,
  get,
  SHARED,
  type StartApp,
} from '../../testing/internal-auth-scenarios';
import { verifiedCallerOf } from '../auth/verified-caller';
import { internalAuthMiddleware } from './internal-auth.middleware';

/** A plain Express 5 app (no Nest) with the routes the shared scenarios call. */
// #region express-app
const startExpressApp: StartApp = async (config, events) => {
  const internalAuth = internalAuthMiddleware({ config, events });
  const app = express();
  // Open, and before the middleware, which checks the credential of everything after it.
  app.get('/health', internalAuth.public(), (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.use(internalAuth);
  app.get('/charge', internalAuth.requireScopes('billing:charge'), (req, res) => {
    res.json({
      caller: req.internalCaller?.name ?? null,
      verified: verifiedCallerOf(req)?.name ?? null,
      scopes: [...(req.internalCaller?.scopes ?? [])],
    });
  });
  app.get(
    '/as-user',
    internalAuth.route({ scopes: ['files:read'], actingUser: 'files:act-as-user' }),
    (req, res) => {
      res.json({ user: req.actingUserId, caller: req.internalCaller?.name ?? null });
    },
  );
  app.get(
    '/introspected',
    internalAuth.route({ scopes: ['billing:charge'], introspected: true }),
    (req, res) => {
      res.json({ caller: req.internalCaller?.name ?? null });
    },
  );
  app.get('/undeclared', internalAuth.route({}), (_req, res) => {
    res.json({ reached: true });
  });
  internalAuth.assertEveryRouteDeclared(app);
  return listen(app);
};
// #endregion

async function listen(app: Express): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describeInternalAuthAdapter('Express', startExpressApp);

describe(internalAuthMiddleware.name, () => {
  beforeEach(() => jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  const config = { sendToken: SHARED, acceptedTokens: [SHARED] };

  it('stops an app at boot that has a route without a declaration, naming it', () => {
    const internalAuth = internalAuthMiddleware({ config });
    const app = express();
    app.get('/health', internalAuth.public(), (_req, res) => void res.end());
    const router = express.Router();
    router.post('/refund', (_req, res) => void res.end());
    router.get('/ledger', internalAuth.requireScopes('billing:ledger.read'), (_req, res) => {
      res.end();
    });
    app.use('/billing', router);
    app.delete('/account', (_req, res) => void res.end(), internalAuth.requireScopes('x:y'));
    expect(() => internalAuth.assertEveryRouteDeclared(app)).toThrow(
      'routes without an internal-auth declaration (route(), requireScopes() or public()): POST /refund; DELETE /account',
    );
  });

  it('checks the credential of a route when the global middleware is not in front of it', async () => {
    const internalAuth = internalAuthMiddleware({ config });
    const app = express();
    app.get('/charge', internalAuth.requireScopes('billing:charge'), (_req, res) => {
      res.json({ reached: true });
    });
    const { url, close } = await listen(app);
    try {
      expect(await get(`${url}/charge`)).toMatchObject({ status: 403 });
      expect(await get(`${url}/charge`, ['X-INTERNAL-TOKEN', SHARED])).toMatchObject({
        status: 200,
        body: { reached: true },
      });
    } finally {
      await close();
    }
  });

  it('refuses a path no route serves before routing, without a credential', async () => {
    const internalAuth = internalAuthMiddleware({ config });
    const app = express();
    app.use(internalAuth);
    const { url, close } = await listen(app);
    try {
      expect(await get(`${url}/nowhere`)).toMatchObject({
        status: 403,
        body: { error: 'Forbidden' },
      });
    } finally {
      await close();
    }
  });
});
