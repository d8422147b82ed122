// 6d. The end user verified at every hop (issue 14, item 5): a user's read through the backend
// to the filesystem with USER_PROOF (the backend sends a user assertion exchanged for the
// user's token, the filesystem verifies it) against the same read without, side by side in
// one run, both stacks in INTERNAL_AUTH_MODE=token+jwt.
import { mkdtempSync } from 'node:fs';
import type { ServiceProcess } from '@zt/stack-launcher';
import { join } from 'node:path';
import { alternate } from '../lib/compare';
import type { BenchContext } from '../lib/context';
import { ClientSecrets, fetchServiceToken } from '../lib/identity';
import { hammer } from '../lib/load';
import type { Settings } from '../lib/report';
import { type ComparisonDefinition, comparisonResult, type ScenarioResult } from '../lib/result';
import { call, expectStatus, signUp, startStack, urlOf } from '../lib/stack';
import { loadDescription } from './framework-floor';

export const GROUP = 'user-proof';
const FILE = 'bench.txt';
// Below the backend's limit of 4 file requests of one user at a time (429 beyond): a slot is
// freed just after its answer is sent, so 4 connections would meet it now and then.
const CONNECTIONS = 2;

function hopDefinition(settings: Settings): ComparisonDefinition {
  return {
    id: 'user-proof-hop',
    group: GROUP,
    title:
      'User proof on the hop: GET /me/files/:path through the backend with USER_PROOF=required vs without',
    baseline: {
      label: 'backend USER_PROOF=off -> filesystem USER_PROOF=off',
      request: `GET /me/files/${FILE}`,
    },
    subject: {
      label: 'backend and filesystem USER_PROOF=required',
      request: `GET /me/files/${FILE}`,
    },
    load: { ...loadDescription(settings, CONNECTIONS), database: 'pglite' },
    notes:
      `${CONNECTIONS} connections (under the backend's per-user limit of 4 concurrent file requests). ` +
      'One auth server and billing; two filesystem servers and two backends started alike, one pair with the user proof and one without, all in token+jwt mode with real service tokens. ' +
      'The same user and access token on both sides. With the proof, the backend adds its cached user assertion (one exchange per session and callee, then a SHA-256 of the token and a map lookup per call) ' +
      'and the filesystem verifies it (signature once, then its verified-token cache; typ, aud, act = the verified caller, scope, sub = X-User-ID). The ratio is subject req/s over baseline req/s.',
  };
}

export async function run(ctx: BenchContext): Promise<ScenarioResult[]> {
  const { settings } = ctx;
  const secrets = new ClientSecrets();
  const mode = { INTERNAL_AUTH_MODE: 'token+jwt', ...secrets.environment() };
  ctx.log('user-proof-hop: starting the four services (token+jwt, pglite)');
  const stack = await startStack(ctx.group, {
    token: ctx.token,
    dataDir: mkdtempSync(join(ctx.tmp, 'user-proof-off-')),
    env: mode,
  });
  const extra: ServiceProcess[] = [];
  try {
    const auth = urlOf(stack, 'auth-server');
    const billing = urlOf(stack, 'billing-server');
    // Both pairs started the same way, differing only in USER_PROOF: the stack's own
    // filesystem and backend serve registration only.
    const startPair = async (proof: boolean) => {
      const env = {
        INTERNAL_SERVICE_TOKEN: ctx.token,
        ...mode,
        DATA_DIR: mkdtempSync(join(ctx.tmp, `user-proof-${proof ? 'on' : 'off'}-`)),
      };
      const label = proof ? '(user proof)' : '(no user proof)';
      const files = await ctx.group.startService(
        `filesystem-server ${label}`,
        'filesystem-server',
        {
          env: { ...env, USER_PROOF: proof ? 'required' : 'off' },
          urls: { 'auth-server': auth },
        },
      );
      extra.push(files);
      const backend = await ctx.group.startService(`backend ${label}`, 'backend', {
        env: { ...env, USER_PROOF: proof ? 'required' : 'off' },
        urls: { 'auth-server': auth, 'billing-server': billing, 'filesystem-server': files.url },
      });
      extra.push(backend);
      return { files: files.url, backend: backend.url };
    };
    const off = await startPair(false);
    const on = await startPair(true);

    const operator = await fetchServiceToken(auth, secrets, 'operator', 'auth-server');
    const user = await signUp(stack, ctx.token, 'bench-user-proof@example.com', 'team', {
      Authorization: `Bearer ${operator}`,
    });
    const bearer = { Authorization: `Bearer ${user.accessToken}` };
    const backends = { off: off.backend, on: on.backend };
    for (const url of Object.values(backends)) {
      expectStatus(
        `PUT /me/files/${FILE}`,
        await call(`${url}/me/files/${FILE}`, {
          method: 'PUT',
          headers: { ...bearer, 'Content-Type': 'application/octet-stream' },
          body: 'a small file, read back under load\n',
        }),
        201,
      );
      expectStatus(
        `GET /me/files/${FILE}`,
        await call(`${url}/me/files/${FILE}`, { headers: bearer }),
        200,
      );
    }
    // The proof side must be what it says: its filesystem refuses the backend's service
    // credential without the user's assertion.
    const backendToken = await fetchServiceToken(auth, secrets, 'backend', 'filesystem-server');
    expectStatus(
      'filesystem (USER_PROOF=required) without an assertion',
      await call(`${on.files}/files/${FILE}`, {
        headers: {
          'X-INTERNAL-TOKEN': ctx.token,
          Authorization: `Bearer ${backendToken}`,
          'X-User-ID': user.userId,
        },
      }),
      401,
    );

    const definition = hopDefinition(settings);
    ctx.log(`${definition.id}: ${definition.title}`);
    const load = (url: string) => (seconds: number) =>
      hammer({
        url: `${url}/me/files/${FILE}`,
        headers: bearer,
        connections: CONNECTIONS,
        seconds,
      });
    return [
      comparisonResult(
        definition,
        await alternate({
          baseline: load(backends.off),
          subject: load(backends.on),
          ...settings,
          log: ctx.log,
        }),
      ),
    ];
  } finally {
    await Promise.all(extra.map((process) => process.stop()));
    await stack.stopAll();
  }
}
