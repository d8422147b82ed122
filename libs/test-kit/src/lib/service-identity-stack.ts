import { launchStack, type ServiceName, type ServiceStack } from '@zt/stack-launcher';
import {
  calculateJwkThumbprint,
  importJWK,
  type JWK,
  type JWTPayload,
  type KeyLike,
  SignJWT,
} from 'jose';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inheritedProcessEnvironment } from './config/test-environment';
import { request, type TestResponse } from './http-client';
import { clientSecretVariable } from '@zt/service-utils';
import { generateClientSecrets, generateToken } from './secrets';

/** The service clients of the reference policy (libs/contracts `SERVICE_CLIENTS`). */
export const SERVICE_CLIENT_IDS = [
  'auth-server',
  'backend',
  'billing-server',
  'filesystem-server',
  'metrics-scraper',
  'operator',
] as const;
export type ServiceClientId = (typeof SERVICE_CLIENT_IDS)[number];

/** What names the callee of a token request: `audience` or `resource` (RFC 8707), and `scope`. */
export type TokenTarget = Readonly<Record<string, string>>;

/** How a client authenticates at the token endpoint. */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post';

/** `Authorization: Basic` as RFC 6749 section 2.3.1 builds it: each part form-encoded, then base64. */
export function basicCredentials(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(
    `${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`,
  ).toString('base64')}`;
}

/** One client-credentials request to `POST <authUrl>/oauth2/token`, as a service makes it. */
export function requestServiceToken(
  authUrl: string,
  client: { readonly id: string; readonly secret: string; readonly method?: ClientAuthMethod },
  target: TokenTarget,
): Promise<TestResponse> {
  return postAsClient(`${authUrl}/oauth2/token`, client, {
    grant_type: 'client_credentials',
    ...target,
  });
}

/**
 * A form POSTed to an OAuth endpoint by `client`, authenticated with its secret
 * (`client_secret_basic` unless told).
 */
export function postAsClient(
  url: string,
  client: { readonly id: string; readonly secret: string; readonly method?: ClientAuthMethod },
  fields: Readonly<Record<string, string>>,
): Promise<TestResponse> {
  const form = new URLSearchParams(fields);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (client.method === 'client_secret_post') {
    form.set('client_id', client.id);
    form.set('client_secret', client.secret);
  } else {
    headers['Authorization'] = basicCredentials(client.id, client.secret);
  }
  return request(url, { method: 'POST', headers, body: form.toString() });
}

/** What {@link ServiceIdentityStack.launch} starts. */
export interface ServiceIdentityStackOptions {
  /** Also the filesystem server (in `jwt` mode too). */
  readonly withFilesystem?: boolean;
  /** `SERVICE_TOKEN_TTL_SECONDS` at the auth server (60 to 600; its default 300 when absent). */
  readonly tokenTtlSeconds?: number;
  /** `DATABASE_URL` of the auth server and billing (PGlite in `DATA_DIR` when absent). */
  readonly databaseUrl?: string;
  /**
   * Billing's `INTROSPECTION_CACHE_MS` with `INTERNAL_AUTH_INTROSPECTION=on` (its money routes
   * ask the auth server about every token); introspection is off when absent.
   */
  readonly billingIntrospectionCacheMs?: number;
  /** More variables for every service (e.g. `REDIS_URL` and the rate limits). */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * The auth server and billing (and, when asked, the filesystem) as built processes, the
 * callees in `INTERNAL_AUTH_MODE=jwt`: they accept `Authorization: Bearer <service token>`
 * only, verified against the real auth server's `/oauth2/jwks`. PGlite in a scratch
 * `DATA_DIR`; every service client of the policy has a generated secret.
 *
 * Only the callees' guard is under test: the auth server's own calls to billing (opening an
 * account at registration) still send `X-INTERNAL-TOKEN` only, so they fail here.
 */
export class ServiceIdentityStack {
  private constructor(
    /** The processes, as the launcher runs them. */
    readonly stack: ServiceStack,
    /** Where the services keep their data (`DATA_DIR`). */
    readonly dataDir: string,
    private readonly secrets: Readonly<Record<ServiceClientId, string>>,
  ) {}

  /** Starts the stack; stop it with {@link stop}. */
  static async launch(options: ServiceIdentityStackOptions = {}): Promise<ServiceIdentityStack> {
    const dataDir = mkdtempSync(join(tmpdir(), 'service-identity-e2e-'));
    const clients = generateClientSecrets(SERVICE_CLIENT_IDS);
    const secrets = clients.secrets as Record<ServiceClientId, string>;
    const jwtMode = { INTERNAL_AUTH_MODE: 'jwt' };
    const services: ServiceName[] = ['billing-server', 'auth-server'];
    if (options.withFilesystem) services.push('filesystem-server');
    try {
      const stack = await launchStack({
        services,
        env: {
          ...inheritedProcessEnvironment(),
          // Still required at boot in every mode (DESIGN section 9); the callees ignore it in jwt mode.
          INTERNAL_SERVICE_TOKEN: generateToken(),
          DATA_DIR: dataDir,
          // The client secrets sit in the shared environment, not in the auth server's own
          // (`serviceEnv` wins over a restart's environment): a test restarts the auth server
          // without one. The callees do not read them.
          ...clients.env,
          SERVICE_TOKEN_TTL_SECONDS: options.tokenTtlSeconds?.toString(),
          DATABASE_URL: options.databaseUrl,
          ...options.env,
        },
        serviceEnv: {
          'billing-server': {
            ...jwtMode,
            ...(options.billingIntrospectionCacheMs === undefined
              ? {}
              : {
                  INTERNAL_AUTH_INTROSPECTION: 'on',
                  INTROSPECTION_CACHE_MS: String(options.billingIntrospectionCacheMs),
                }),
          },
          'filesystem-server': jwtMode,
        },
        // The 2-core machine may be busy: a slow start is not what these suites test.
        startTimeoutMs: 180_000,
      });
      return new ServiceIdentityStack(stack, dataDir, secrets);
    } catch (error) {
      rmSync(dataDir, { recursive: true, force: true });
      throw error;
    }
  }

  /** Stops every process and removes the data. */
  async stop(): Promise<void> {
    await this.stack.stopAll();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** The base URL of a service of the stack. */
  url(name: ServiceName): string {
    const url = this.stack.urls[name];
    if (url === undefined) throw new Error(`${name} is not a service of this stack`);
    return url;
  }

  /** The auth server's URL: the `iss` of its service tokens. */
  get issuer(): string {
    return this.url('auth-server');
  }

  /** The secret of a client (hand it only to the client under test; never print it). */
  secretOf(clientId: ServiceClientId): string {
    return this.secrets[clientId];
  }

  /** A token request by `clientId` with its secret (`client_secret_basic` unless told). */
  requestToken(
    clientId: ServiceClientId,
    target: TokenTarget,
    method: ClientAuthMethod = 'client_secret_basic',
  ): Promise<TestResponse> {
    return requestServiceToken(
      this.issuer,
      { id: clientId, secret: this.secrets[clientId], method },
      target,
    );
  }

  /**
   * A form POSTed to one of the auth server's OAuth endpoints (`/oauth2/introspect`,
   * `/oauth2/revoke`) as `clientId` with its secret (`client_secret_basic` unless told).
   */
  postAsClient(
    path: string,
    clientId: ServiceClientId,
    fields: Readonly<Record<string, string>>,
    method: ClientAuthMethod = 'client_secret_basic',
  ): Promise<TestResponse> {
    return postAsClient(
      `${this.issuer}${path}`,
      { id: clientId, secret: this.secrets[clientId], method },
      fields,
    );
  }

  /** As {@link postAsClient}, at another auth server than the stack's (a replica). */
  postAsClientAt(
    issuer: string,
    path: string,
    clientId: ServiceClientId,
    fields: Readonly<Record<string, string>>,
  ): Promise<TestResponse> {
    return postAsClient(
      `${issuer}${path}`,
      { id: clientId, secret: this.secrets[clientId] },
      fields,
    );
  }

  /** The access token the auth server issues to `clientId` for `target`; throws on any other answer. */
  async token(clientId: ServiceClientId, target: TokenTarget): Promise<string> {
    const answer = await this.requestToken(clientId, target);
    const token = (answer.body as { access_token?: unknown } | undefined)?.access_token;
    if (answer.status !== 200 || typeof token !== 'string') {
      throw new Error(
        `POST /oauth2/token answered ${answer.status} ${JSON.stringify(answer.body)}`,
      );
    }
    return token;
  }

  /**
   * Restarts the auth server with the secrets of `withoutSecrets` removed (as an operator
   * revokes a client), or with every secret again when empty.
   */
  async restartAuthServer(withoutSecrets: readonly ServiceClientId[] = []): Promise<void> {
    const env: Record<string, string | undefined> = { ...this.stack.environment('auth-server') };
    for (const clientId of SERVICE_CLIENT_IDS) {
      env[clientSecretVariable(clientId)] = withoutSecrets.includes(clientId)
        ? undefined
        : this.secrets[clientId];
    }
    await this.stack.restart('auth-server', env);
  }

  /**
   * Signs `claims` over the claims the auth server would put in a token of `clientId` for
   * `audience`, with the auth server's own current signing key (read from its key file in
   * `DATA_DIR`): tokens with a genuine signature that the auth server would never issue
   * (another issuer, no audience, expired, too long-lived, a scope outside the policy). A
   * claim set to `undefined` is left out; `header` overrides the protected header.
   */
  async signWithIssuerKey(options: {
    readonly clientId?: string;
    readonly audience?: string;
    readonly claims?: Readonly<Record<string, unknown>>;
    readonly header?: Readonly<Record<string, unknown>>;
  }): Promise<string> {
    const { key, kid } = await this.issuerSigningKey();
    const clientId = options.clientId ?? 'backend';
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      iss: this.issuer,
      sub: clientId,
      client_id: clientId,
      aud: options.audience ?? 'billing-server',
      scope: '',
      iat: now,
      exp: now + 60,
      jti: randomUUID(),
      ...options.claims,
    };
    const defined = Object.fromEntries(
      Object.entries(claims).filter((entry) => entry[1] !== undefined),
    ) as JWTPayload;
    return new SignJWT(defined)
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid, ...options.header })
      .sign(key);
  }

  /**
   * Opens an account at billing as the auth server does at registration (its own token, scope
   * `billing:accounts.write`); returns the new user id. Throws unless billing answers 201.
   */
  async openBillingAccount(tier = 'pro'): Promise<string> {
    const userId = randomUUID();
    const token = await this.token('auth-server', { audience: 'billing-server' });
    const opened = await request(`${this.url('billing-server')}/account`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
      json: { user_id: userId, tier },
    });
    if (opened.status !== 201) {
      throw new Error(`POST /account answered ${opened.status} ${JSON.stringify(opened.body)}`);
    }
    return userId;
  }

  /**
   * A user access token for `userId` exactly as the auth server signs one at login (its user
   * key from `DATA_DIR`, `typ` JWT, `aud` backend, 15 minutes). Registering a user here is
   * impossible: the auth server's call to billing, in jwt mode, is refused.
   */
  async userToken(userId: string): Promise<string> {
    const file = join(this.dataDir, 'auth-server', 'signing-key.jwk.json');
    const privateJwk = JSON.parse(readFileSync(file, 'utf8')) as JWK;
    const kid = await calculateJwkThumbprint({
      kty: privateJwk.kty,
      crv: privateJwk.crv,
      x: privateJwk.x,
    });
    const key = (await importJWK({ ...privateJwk, alg: 'EdDSA' }, 'EdDSA')) as KeyLike;
    return new SignJWT({ email: `${userId}@example.com` })
      .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT' })
      .setIssuer(this.issuer)
      .setAudience('backend')
      .setSubject(userId)
      .setIssuedAt()
      .setExpirationTime('900s')
      .setJti(randomUUID())
      .sign(key);
  }

  /** The auth server's newest service-token signing key, from its key file. */
  async issuerSigningKey(): Promise<{ key: KeyLike; kid: string; publicJwk: JWK }> {
    const file = join(this.dataDir, 'auth-server', 'service-signing-keys.json');
    const { keys } = JSON.parse(readFileSync(file, 'utf8')) as {
      keys: { privateJwk: JWK; createdAt: string }[];
    };
    const newest = [...keys].sort((a, b) => a.createdAt.localeCompare(b.createdAt)).at(-1);
    if (!newest) throw new Error(`${file} holds no key`);
    const publicJwk: JWK = {
      kty: newest.privateJwk.kty,
      crv: newest.privateJwk.crv,
      x: newest.privateJwk.x,
    };
    const key = (await importJWK({ ...newest.privateJwk, alg: 'EdDSA' }, 'EdDSA')) as KeyLike;
    return { key, kid: await calculateJwkThumbprint(publicJwk), publicJwk };
  }
}
