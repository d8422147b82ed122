// 6. Service identity (issue 13 item 8, issue 14): what the auth server's token endpoint
// issues a second on these cores, and what its introspection endpoint answers a second (each
// against a cheap route of the same process), and the guard in `token+jwt`
// mode (shared token and a verified service token) against `token` mode, with a real service
// token from a real auth server. The token cache's hit rate under the stack is in stack.ts.
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { ServiceProcess } from '@zt/stack-launcher';
import { redisUrl } from '../config/runner.config';
import { alternate, type SideRun, type Target } from '../lib/compare';
import { type BenchContext, scratchDatabase } from '../lib/context';
import { ClientSecrets, fetchServiceToken, tokenRequestBody } from '../lib/identity';
import { loadLauncher } from '../lib/launcher';
import { hammer } from '../lib/load';
import type { Settings } from '../lib/report';
import {
  type ComparisonDefinition,
  comparisonResult,
  type ScenarioResult,
  skippedResult,
} from '../lib/result';
import { call, expectStatus } from '../lib/stack';
import { round } from '../lib/stats';
import { loadDescription } from './framework-floor';

export const GROUP = 'identity';

/** Ory Hydra's published client-credentials throughput on 2 CPUs (bcrypt-bound), tokens/s. */
const HYDRA_TOKENS_PER_SECOND = 500;
/** The client and audience of every token of this group: the backend's call to billing. */
const CLIENT = 'backend';
const AUDIENCE = 'billing-server';

const GUARD_TARGET: Target = {
  metric: 'ratio',
  op: '>=',
  value: 0.95,
  description: 'guarded req/s in token+jwt mode >= 0.95 x in token mode',
};

function issuanceDefinition(settings: Settings, database: string): ComparisonDefinition {
  return {
    id: 'token-issuance',
    group: GROUP,
    title:
      'Token issuance: POST /oauth2/token (client credentials) vs GET /oauth2/jwks on the auth server',
    baseline: { label: 'auth-server GET /oauth2/jwks', request: 'GET /oauth2/jwks' },
    subject: {
      label: 'auth-server POST /oauth2/token (client_secret_basic)',
      request: `POST /oauth2/token grant_type=client_credentials audience=${AUDIENCE}`,
    },
    load: { ...loadDescription(settings, settings.connections), database },
    notes:
      `One auth-server process (the built service, INTERNAL_AUTH_MODE=token); client ${CLIENT} with a generated 256-bit secret, a new token (EdDSA at+jwt) each request. ` +
      'The subject req/s is tokens issued a second; the ratio says what a token costs against the cheapest route of the same process. ' +
      `For context, Ory Hydra publishes about ${HYDRA_TOKENS_PER_SECOND} tokens/s on 2 CPUs for client credentials, bound by bcrypt on the client secret; ` +
      'this server keeps only SHA-256 digests of 256-bit random secrets (a fast hash suits random secrets), so the comparison says what bcrypt costs more than what the rest does.',
  };
}

function introspectionDefinition(settings: Settings, database: string): ComparisonDefinition {
  return {
    id: 'token-introspection',
    group: GROUP,
    title:
      'Token introspection: POST /oauth2/introspect (an active token) vs GET /oauth2/jwks on the auth server',
    baseline: { label: 'auth-server GET /oauth2/jwks', request: 'GET /oauth2/jwks' },
    subject: {
      label: `auth-server POST /oauth2/introspect as ${AUDIENCE} (client_secret_basic)`,
      request: `POST /oauth2/introspect token=<${CLIENT}'s token for ${AUDIENCE}>`,
    },
    load: { ...loadDescription(settings, settings.connections), database },
    notes:
      `The same auth-server process. ${AUDIENCE} asks about one active token of ${CLIENT} for it, as an @Introspected() route does on a cache miss: ` +
      'client authentication, the signature and claims checked against the published keys, the client still active, and one database read for a revocation of its jti. ' +
      'The subject req/s is introspection answers a second.',
  };
}

// The per-client rate limit of the rows below: far above the load, so every request spends a
// point and none is refused; what is measured is the counting.
const FAR_ABOVE_THE_LOAD = '1000000';

function rateLimitDefinition(store: 'memory' | 'redis', settings: Settings): ComparisonDefinition {
  return {
    id: `rate-limit-${store}`,
    group: GROUP,
    title: `Per-client rate limit counted in ${store === 'memory' ? 'memory' : 'Redis'} vs no limit (token+jwt guard)`,
    baseline: {
      label: 'token+jwt, RATE_LIMIT_INTERNAL_REQUESTS=0',
      request: 'GET /guarded/memory/:user_id',
    },
    subject: {
      label: `token+jwt, RATE_LIMIT_INTERNAL_REQUESTS=${FAR_ABOVE_THE_LOAD}${store === 'redis' ? ', REDIS_URL set' : ''}`,
      request: 'GET /guarded/memory/:user_id',
    },
    load: loadDescription(settings, settings.connections),
    notes:
      "Two guard-fixture processes in token+jwt (bench/src/guard, with the RateLimitModule the services import), the same service token on both, alternated. The limit is far above the load: every request spends a point of the verified caller's allowance (the guard awaits the count), none is refused. Redis is the machine's own on loopback (one Lua script per request).",
  };
}

function guardDefinition(settings: Settings): ComparisonDefinition {
  return {
    id: 'guard-token-jwt',
    group: GROUP,
    title:
      'Guard with service identity: the guarded balance read (in memory) in token+jwt mode vs token mode',
    baseline: {
      label: 'guard fixture, INTERNAL_AUTH_MODE=token',
      request: 'GET /guarded/memory/:user_id',
    },
    subject: {
      label: 'guard fixture, INTERNAL_AUTH_MODE=token+jwt',
      request: 'GET /guarded/memory/:user_id',
    },
    load: loadDescription(settings, settings.connections),
    target: GUARD_TARGET,
    notes: `Two processes of the guard fixture (bench/src/guard), one per mode. Both get the same headers: X-INTERNAL-TOKEN and a real service token (${CLIENT} for ${AUDIENCE}, scope billing:balance.read) from a real auth server, which the token+jwt process verifies locally against the auth server's JWKS (EdDSA), then checks audience, scope and caller; a token it has verified is remembered until it expires (the verified-token cache), so most requests skip the signature check.`,
  };
}

export async function run(ctx: BenchContext): Promise<ScenarioResult[]> {
  const { settings } = ctx;
  const secrets = new ClientSecrets();
  const { freePort } = await loadLauncher();
  const authUrl = `http://127.0.0.1:${await freePort()}`;
  const database = ctx.postgres.url ? 'postgres' : 'pglite';
  const storage = ctx.postgres.url
    ? { DATABASE_URL: await scratchDatabase(ctx) }
    : { DATA_DIR: mkdtempSync(join(ctx.tmp, 'identity-auth-')) };
  ctx.log(`identity: starting an auth server (${database})`);
  const auth = await ctx.group.startService('auth-server (identity)', 'auth-server', {
    env: { INTERNAL_SERVICE_TOKEN: ctx.token, ...secrets.environment(), ...storage },
    port: Number(new URL(authUrl).port),
    urls: { 'auth-server': authUrl },
  });
  const results: ScenarioResult[] = [];
  const guardServers: ServiceProcess[] = [];
  try {
    const issuance = issuanceDefinition(settings, database);
    ctx.log(`${issuance.id}: ${issuance.title}`);
    // One request first, so that a misconfiguration fails with its answer, not a ratio.
    await fetchServiceToken(authUrl, secrets, CLIENT, AUDIENCE);
    const authorization = secrets.basicAuthorization(CLIENT);
    const measured = await alternate({
      baseline: (seconds) =>
        hammer({ url: `${authUrl}/oauth2/jwks`, connections: settings.connections, seconds }),
      subject: (seconds) =>
        hammer({
          url: `${authUrl}/oauth2/token`,
          method: 'POST',
          headers: {
            Authorization: authorization,
            'Content-Type': 'application/x-www-form-urlencoded',
          },
          body: tokenRequestBody(AUDIENCE),
          connections: settings.connections,
          seconds,
        }),
      ...settings,
      log: ctx.log,
    });
    const perSecond = measured.metrics.subjectRps.median;
    results.push(
      comparisonResult(
        {
          ...issuance,
          notes: `${issuance.notes} Here: ${round(perSecond, 0)} tokens/s (median of the rounds), ${round(perSecond / HYDRA_TOKENS_PER_SECOND, 2)}x Hydra's published figure.`,
        },
        measured,
      ),
    );

    const introspection = introspectionDefinition(settings, database);
    ctx.log(`${introspection.id}: ${introspection.title}`);
    const introspectionBody = new URLSearchParams({
      token: await fetchServiceToken(authUrl, secrets, CLIENT, AUDIENCE),
    }).toString();
    const introspectionHeaders = {
      Authorization: secrets.basicAuthorization(AUDIENCE),
      'Content-Type': 'application/x-www-form-urlencoded',
    };
    // Active, or the figure would be of the cheaper inactive answer.
    const answer = await call(`${authUrl}/oauth2/introspect`, {
      method: 'POST',
      headers: introspectionHeaders,
      body: introspectionBody,
    });
    expectStatus('POST /oauth2/introspect', answer, 200);
    if ((answer.body as { active?: unknown } | undefined)?.active !== true) {
      throw new Error('token-introspection: the token is not active; nothing to measure');
    }
    const introspected = await alternate({
      baseline: (seconds) =>
        hammer({ url: `${authUrl}/oauth2/jwks`, connections: settings.connections, seconds }),
      subject: (seconds) =>
        hammer({
          url: `${authUrl}/oauth2/introspect`,
          method: 'POST',
          headers: introspectionHeaders,
          body: introspectionBody,
          connections: settings.connections,
          seconds,
        }),
      ...settings,
      log: ctx.log,
    });
    results.push(
      comparisonResult(
        {
          ...introspection,
          notes: `${introspection.notes} Here: ${round(introspected.metrics.subjectRps.median, 0)} answers/s (median of the rounds).`,
        },
        introspected,
      ),
    );

    const guard = guardDefinition(settings);
    ctx.log(`${guard.id}: ${guard.title}`);
    const start = (name: string, env: Record<string, string>) =>
      ctx.group.startServer(name, ctx.paths.built('guard-server.js'), {
        env: { INTERNAL_SERVICE_TOKEN: ctx.token, BENCH_PORT: '0', LOG_LEVEL: 'info', ...env },
      });
    const [tokenMode, jwtMode] = await Promise.all([
      start('guard-server (token)', { INTERNAL_AUTH_MODE: 'token' }),
      start('guard-server (token+jwt)', {
        INTERNAL_AUTH_MODE: 'token+jwt',
        AUTH_SERVER_URL: authUrl,
      }),
    ]);
    guardServers.push(tokenMode, jwtMode);
    const route = '/guarded/memory/user-7';
    const headers = {
      'X-INTERNAL-TOKEN': ctx.token,
      Authorization: `Bearer ${await fetchServiceToken(authUrl, secrets, CLIENT, AUDIENCE)}`,
    };
    // The token+jwt process must refuse the shared token alone, or it is not in that mode.
    expectStatus(
      `token+jwt ${route} without a service token`,
      await call(`${jwtMode.url}${route}`, { headers: { 'X-INTERNAL-TOKEN': ctx.token } }),
      401,
    );
    expectStatus(`token+jwt ${route}`, await call(`${jwtMode.url}${route}`, { headers }), 200);
    const load =
      (target: ServiceProcess): SideRun =>
      (seconds) =>
        hammer({
          url: `${target.url}${route}`,
          headers,
          connections: settings.connections,
          seconds,
        });
    results.push(
      comparisonResult(
        guard,
        await alternate({
          baseline: load(tokenMode),
          subject: load(jwtMode),
          ...settings,
          log: ctx.log,
        }),
      ),
    );

    const redis = redisUrl();
    for (const store of ['memory', 'redis'] as const) {
      const def = rateLimitDefinition(store, settings);
      if (store === 'redis' && !(await reachable(new URL(redis)))) {
        results.push(skippedResult(def, `no Redis answers at ${new URL(redis).host}`));
        continue;
      }
      ctx.log(`${def.id}: ${def.title}`);
      const counted = await start(`guard-server (token+jwt, rate limit in ${store})`, {
        INTERNAL_AUTH_MODE: 'token+jwt',
        AUTH_SERVER_URL: authUrl,
        RATE_LIMIT_INTERNAL_REQUESTS: FAR_ABOVE_THE_LOAD,
        REDIS_KEY_PREFIX: `zt-bench-${process.pid}`,
        ...(store === 'redis' ? { REDIS_URL: redis } : {}),
      });
      guardServers.push(counted);
      expectStatus(`${def.id} ${route}`, await call(`${counted.url}${route}`, { headers }), 200);
      results.push(
        comparisonResult(
          def,
          await alternate({
            baseline: load(jwtMode),
            subject: load(counted),
            ...settings,
            log: ctx.log,
          }),
        ),
      );
    }
  } finally {
    await Promise.all([...guardServers.map((server) => server.stop()), auth.stop()]);
  }
  return results;
}

function reachable(url: URL): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(Number(url.port || 6379), url.hostname);
    socket.setTimeout(1_000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}
