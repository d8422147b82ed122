import {
  basicCredentials,
  jsonLogLines,
  request,
  scratchDatabaseFor,
  ServiceIdentityStack,
  type TestResponse,
  testBackends,
  waitForLogLine,
} from '@zt/test-kit';
import { decodeJwt } from 'jose';
import { randomUUID } from 'node:crypto';

// Introspection (RFC 7662) and revocation (RFC 7009) of service tokens at the real auth
// server, on each database: DESIGN section 9.

describe.each(testBackends())('auth-server introspection and revocation, on %s', (backend) => {
  let sut: ServiceIdentityStack;
  let dropDatabase: () => Promise<void>;

  beforeAll(async () => {
    const database = await scratchDatabaseFor(backend);
    dropDatabase = database.drop;
    sut = await ServiceIdentityStack.launch({ databaseUrl: database.url });
  }, 240_000);

  afterAll(async () => {
    await sut?.stop();
    await dropDatabase?.();
  });

  const backendToBilling = () => sut.token('backend', { audience: 'billing-server' });
  const introspect = (
    clientId: Parameters<ServiceIdentityStack['postAsClient']>[1],
    token: string,
    method?: Parameters<ServiceIdentityStack['postAsClient']>[3],
  ) => sut.postAsClient('/oauth2/introspect', clientId, { token }, method);
  const revoke = (clientId: Parameters<ServiceIdentityStack['postAsClient']>[1], token: string) =>
    sut.postAsClient('/oauth2/revoke', clientId, { token });
  const expectInactive = (answer: TestResponse) => {
    // Exactly this, whatever the reason (RFC 7662 section 2.2): nothing to learn from it.
    expect({ status: answer.status, body: answer.body }).toEqual({
      status: 200,
      body: { active: false },
    });
    expect(answer.headers.get('cache-control')).toBe('no-store');
  };

  describe('introspection', () => {
    it("tells the token's audience its claims, with either authentication method", async () => {
      const token = await backendToBilling();
      const claims = decodeJwt(token);
      for (const method of ['client_secret_basic', 'client_secret_post'] as const) {
        const answer = await introspect('billing-server', token, method);
        expect(answer.status).toBe(200);
        expect(answer.body).toEqual({
          active: true,
          sub: 'backend',
          client_id: 'backend',
          aud: 'billing-server',
          scope: 'billing:balance.read billing:charge billing:refund',
          iss: sut.issuer,
          exp: claims.exp,
          iat: claims.iat,
          jti: claims.jti,
          token_type: 'Bearer',
        });
        expect(answer.headers.get('cache-control')).toBe('no-store');
        expect(answer.headers.get('pragma')).toBe('no-cache');
      }
    });

    it('answers inactive to any client that is not the audience, the holder included', async () => {
      const token = await backendToBilling();
      for (const clientId of ['filesystem-server', 'backend', 'operator', 'auth-server'] as const) {
        expectInactive(await introspect(clientId, token));
      }
    });

    it('answers inactive for what is no valid service token of this issuer', async () => {
      const userId = randomUUID();
      const valid = await backendToBilling();
      const [header, payload, signature] = valid.split('.');
      const flipped = `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BA' : 'AA'}`;
      const now = Math.floor(Date.now() / 1000);
      const notTokens = {
        garbage: 'not-a-token',
        'a tampered signature': `${header}.${payload}.${flipped}`,
        // The same signature spelled otherwise: the trust kit's verifier refuses these too.
        'characters outside base64url': `${valid}=`,
        'a character inside the signature': `${header}.${payload}.${signature.slice(0, 8)}!${signature.slice(8)}`,
        'a user access token': await sut.userToken(userId),
        expired: await sut.signWithIssuerKey({ claims: { iat: now - 120, exp: now - 60 } }),
        'not yet valid': await sut.signWithIssuerKey({ claims: { nbf: now + 60 } }),
        'another issuer': await sut.signWithIssuerKey({ claims: { iss: 'http://evil.test' } }),
        'a lifetime over 10 minutes': await sut.signWithIssuerKey({
          claims: { iat: now, exp: now + 3600 },
        }),
        'no jti': await sut.signWithIssuerKey({ claims: { jti: undefined } }),
        'sub not client_id': await sut.signWithIssuerKey({ claims: { sub: 'operator' } }),
        'typ JWT': await sut.signWithIssuerKey({ header: { typ: 'JWT' } }),
        'an unknown kid': await sut.signWithIssuerKey({ header: { kid: 'unknown' } }),
      };
      for (const [what, token] of Object.entries(notTokens)) {
        const answer = await introspect('billing-server', token);
        expect({ what, status: answer.status, body: answer.body }).toEqual({
          what,
          status: 200,
          body: { active: false },
        });
      }
    });

    it("answers inactive for a revoked client's tokens (its secret removed) until it is back", async () => {
      const token = await sut.token('operator', { audience: 'billing-server' });
      expect(await introspect('billing-server', token)).toMatchObject({
        status: 200,
        body: { active: true, client_id: 'operator' },
      });
      await sut.restartAuthServer(['operator']);
      try {
        expectInactive(await introspect('billing-server', token));
      } finally {
        await sut.restartAuthServer();
      }
      expect(await introspect('billing-server', token)).toMatchObject({
        status: 200,
        body: { active: true },
      });
    }, 240_000);

    it('refuses a client that does not authenticate: 401 invalid_client, WWW-Authenticate', async () => {
      const form = new URLSearchParams({ token: await backendToBilling() }).toString();
      for (const authorization of [
        undefined,
        basicCredentials('billing-server', 'not-the-billing-secret'),
        basicCredentials('nobody', sut.secretOf('billing-server')),
      ]) {
        const answer = await post('/oauth2/introspect', form, authorization);
        expect(answer).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
        expect(answer.headers.get('www-authenticate')).toBe('Basic realm="auth-server"');
      }
    });

    it('refuses a request without a token, with a repeated one, or not a form: 400 invalid_request', async () => {
      const token = await backendToBilling();
      const billing = basicCredentials('billing-server', sut.secretOf('billing-server'));
      // An empty parameter counts as absent (RFC 6749 section 3.2, as at the token endpoint).
      for (const fields of [{}, { token: '' }] as Record<string, string>[]) {
        expect(
          await sut.postAsClient('/oauth2/introspect', 'billing-server', fields),
        ).toMatchObject({
          status: 400,
          body: { error: 'invalid_request', error_description: 'token is required' },
        });
      }
      expect(
        await post('/oauth2/introspect', `token=${token}&token=${token}`, billing),
      ).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
      expect(
        await post('/oauth2/introspect', JSON.stringify({ token }), billing, 'application/json'),
      ).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    });
  });

  describe('revocation', () => {
    it('lets the client revoke its own token: introspection answers inactive at once', async () => {
      const token = await backendToBilling();
      const other = await backendToBilling();
      const revoked = await revoke('backend', token);
      expect({ status: revoked.status, body: revoked.body }).toEqual({ status: 200, body: {} });
      expect(revoked.headers.get('cache-control')).toBe('no-store');
      expectInactive(await introspect('billing-server', token));
      // Only that token: the client's other and new tokens stay active.
      expect(await introspect('billing-server', other)).toMatchObject({
        body: { active: true },
      });
      expect(await introspect('billing-server', await backendToBilling())).toMatchObject({
        body: { active: true },
      });
      // Again: nothing changes, still 200.
      expect(await revoke('backend', token)).toMatchObject({ status: 200, body: {} });
    });

    it('keeps a revocation across a restart of the auth server (it is in the database)', async () => {
      const token = await backendToBilling();
      expect(await revoke('backend', token)).toMatchObject({ status: 200 });
      await sut.restartAuthServer();
      expectInactive(await introspect('billing-server', token));
    }, 240_000);

    it("refuses to revoke another client's token, which stays active", async () => {
      const token = await backendToBilling();
      for (const clientId of ['billing-server', 'operator'] as const) {
        expect(await revoke(clientId, token)).toMatchObject({
          status: 400,
          body: { error: 'unauthorized_client' },
        });
      }
      expect(await introspect('billing-server', token)).toMatchObject({
        body: { active: true },
      });
    });

    it('answers 200 for an invalid, expired or unknown token, and revokes nothing', async () => {
      const now = Math.floor(Date.now() / 1000);
      for (const token of [
        'not-a-token',
        await sut.signWithIssuerKey({ claims: { iat: now - 120, exp: now - 60 } }),
        await sut.signWithIssuerKey({ claims: { iss: 'http://evil.test' } }),
      ]) {
        expect(await revoke('backend', token)).toMatchObject({ status: 200, body: {} });
      }
    });

    it('refuses a client that does not authenticate, and the token stays active', async () => {
      const token = await backendToBilling();
      const answer = await post(
        '/oauth2/revoke',
        new URLSearchParams({ token }).toString(),
        basicCredentials('backend', 'not-the-backend-secret'),
      );
      expect(answer).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
      expect(answer.headers.get('www-authenticate')).toBe('Basic realm="auth-server"');
      expect(await introspect('billing-server', token)).toMatchObject({
        body: { active: true },
      });
    });
  });

  it('logs introspections and revocations without a token or a secret', async () => {
    const token = await backendToBilling();
    await introspect('billing-server', token);
    await revoke('backend', token);
    const auth = sut.stack.process('auth-server');
    // The last line may still be on its way through the pipe when the answer arrives.
    expect(
      await waitForLogLine(auth, (line) => line['event'] === 'service_token_revoked'),
    ).toBeDefined();
    const output = auth.output();
    const events = jsonLogLines(auth).map((line) => line['event']);
    expect(events).toContain('service_token_introspected');
    const [, , signature] = token.split('.');
    for (const value of [signature, sut.secretOf('backend'), sut.secretOf('billing-server')]) {
      expect(output).not.toContain(value);
    }
  });

  /** A raw POST to an OAuth endpoint, with this `Authorization` (none when undefined). */
  function post(
    path: string,
    body: string,
    authorization: string | undefined,
    contentType = 'application/x-www-form-urlencoded',
  ): Promise<TestResponse> {
    return request(`${sut.issuer}${path}`, {
      method: 'POST',
      headers: {
        'content-type': contentType,
        ...(authorization === undefined ? {} : { Authorization: authorization }),
      },
      body,
    });
  }
});
