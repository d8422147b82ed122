import { Logger } from '@nestjs/common';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientSecretDigests } from './client-secret';
import { SERVICE_CLIENTS } from '@zt/contracts';
import type { OAuthModuleOptions } from './oauth.module-options';
import { ServiceSigningKeys } from './service-signing-keys.service';
import { ServiceTokenIssuer } from './service-token.issuer';

const ISSUER = 'http://auth.test';
const NOW = new Date('2026-03-01T12:00:00Z');

describe(ServiceTokenIssuer.name, () => {
  const dir = mkdtempSync(join(tmpdir(), 'service-issuer-'));
  let keys: ServiceSigningKeys;
  let sut: ServiceTokenIssuer;

  beforeAll(async () => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const options: OAuthModuleOptions = {
      issuer: ISSUER,
      tokenTtlSeconds: 600,
      keyRotationDays: 30,
      signingKeysFile: join(dir, 'keys.json'),
      serviceUrls: {
        'auth-server': ISSUER,
        'billing-server': 'http://billing.test',
        'filesystem-server': 'http://files.test',
        backend: 'http://backend.test',
      },
      clients: SERVICE_CLIENTS,
      // No secret at all: minting its own tokens needs none.
      clientSecrets: new Map(SERVICE_CLIENTS.map((c) => [c.clientId, ClientSecretDigests.of()])),
      clientRequestsPerMinute: 0,
      now: () => NOW,
    };
    keys = new ServiceSigningKeys(options);
    await keys.onModuleInit();
    sut = new ServiceTokenIssuer(keys, options);
  });

  afterAll(() => {
    keys.onApplicationShutdown();
    jest.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  it('mints the auth server its own token in-process, with every scope it has at the audience', async () => {
    const token = await sut.issueOwn('billing-server');
    expect(token).toMatchObject({
      expiresIn: 600,
      audience: 'billing-server',
      scope: 'billing:accounts.write billing:stats.read',
    });
    const { payload, protectedHeader } = await jwtVerify(
      token.accessToken,
      createLocalJWKSet({ keys: keys.publicKeys() }),
      {
        issuer: ISSUER,
        audience: 'billing-server',
        typ: 'at+jwt',
        algorithms: ['EdDSA'],
        currentDate: NOW,
      },
    );
    expect(protectedHeader).toEqual({ alg: 'EdDSA', typ: 'at+jwt', kid: keys.signing().kid });
    expect(payload).toEqual({
      iss: ISSUER,
      sub: 'auth-server',
      client_id: 'auth-server',
      aud: 'billing-server',
      scope: 'billing:accounts.write billing:stats.read',
      iat: NOW.getTime() / 1000,
      exp: NOW.getTime() / 1000 + 600,
      jti: token.jti,
    });
  });

  it('mints only the scopes asked for', async () => {
    const token = await sut.issueOwn('billing-server', ['billing:stats.read']);
    expect(token.scope).toBe('billing:stats.read');
  });

  it('refuses what the policy does not give the auth server', async () => {
    await expect(sut.issueOwn('filesystem-server')).rejects.toThrow(
      'the client policy refuses auth-server at filesystem-server: invalid_target',
    );
    await expect(sut.issueOwn('billing-server', ['billing:charge'])).rejects.toThrow(
      'invalid_scope',
    );
  });
});
