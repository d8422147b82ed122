import { type InternalAuthConfig, InternalCallCredentials } from '@zt/service-utils';
import {
  generateToken,
  headerLines,
  type ScriptedServer,
  type SeenRequest,
  sendJson,
  startScriptedServer,
} from '@zt/test-kit';
import axios, { type AxiosInstance } from 'axios';
import { createInternalAxios } from './create-internal-axios';
import type { InternalCallTarget } from './internal-credential';
import { installInternalHeaders } from './internal-headers.interceptor';

// #region create-instance
/** The billing service, called with axios and the trust kit's credential. */
function billingApi(config: { billingUrl: string; internalAuth: InternalAuthConfig }) {
  return createInternalAxios({
    baseURL: config.billingUrl,
    timeoutMs: 3000,
    credential: config.internalAuth,
  });
}
// #endregion

// #region existing-instance
/** A team's existing axios instance for the inventory service, now with the kit's credential. */
function inventoryApi(config: { inventoryUrl: string; internalAuth: InternalAuthConfig }) {
  const api = axios.create({ baseURL: config.inventoryUrl, timeout: 3000 });
  installInternalHeaders(api, { credential: config.internalAuth });
  return api;
}
// #endregion

// #region token-provider
/**
 * In `INTERNAL_AUTH_MODE` token+jwt or jwt: each call carries what the kit's
 * `InternalCallCredentials` gives for billing (the shared token when set, and a service
 * token for `billing-server`, cached and refreshed by the kit).
 */
function billingApiWithServiceTokens(billingUrl: string, credentials: InternalCallCredentials) {
  return createInternalAxios({
    baseURL: billingUrl,
    timeoutMs: 3000,
    credential: async () => (await credentials.forCall('billing-server')).headers,
  });
}
// #endregion

/** The header names a server saw, in lower case and sorted. */
const namesOf = (seen: SeenRequest | undefined) => Object.keys(seen?.headers ?? {}).sort();

describe('the trust kit on axios, against real servers', () => {
  const token = generateToken();
  const acceptOnly = generateToken();
  const internalAuth: InternalAuthConfig = {
    sendToken: token,
    acceptedTokens: [token, acceptOnly],
  };
  let billing: ScriptedServer;
  let elsewhere: ScriptedServer;

  beforeAll(async () => {
    billing = await startScriptedServer((_seen, response) => sendJson(response, 200, { ok: true }));
    elsewhere = await startScriptedServer((_seen, response) => sendJson(response, 200, {}));
  });

  afterAll(async () => {
    await billing?.close();
    await elsewhere?.close();
  });

  beforeEach(() => {
    billing.seen.length = 0;
    elsewhere.seen.length = 0;
    billing.handler = (_seen, response) => sendJson(response, 200, { ok: true });
  });

  it('adds exactly the kit headers: one X-INTERNAL-TOKEN line, the send token, nothing else', async () => {
    await axios.create({ baseURL: billing.url }).get('/balance/u1');
    const { data } = await billingApi({ billingUrl: billing.url, internalAuth }).get('/balance/u1');
    expect(data).toEqual({ ok: true });
    const [plain, adapted] = billing.seen;
    expect(headerLines(adapted, 'X-INTERNAL-TOKEN')).toEqual([token]);
    expect(namesOf(adapted)).toEqual([...namesOf(plain), 'x-internal-token'].sort());
  });

  it('adds them to a team’s existing instance, beside the headers the caller sets itself', async () => {
    const api = inventoryApi({ inventoryUrl: billing.url, internalAuth });
    await api.post('/holds', { amount: 1 }, { headers: { 'X-User-ID': 'user-1' } });
    const [seen] = billing.seen;
    expect(headerLines(seen, 'X-INTERNAL-TOKEN')).toEqual([token]);
    expect(headerLines(seen, 'X-User-ID')).toEqual(['user-1']);
    expect(JSON.parse(seen.body.toString('utf8'))).toEqual({ amount: 1 });
  });

  it('refuses a call that carries another X-INTERNAL-TOKEN (forwarded from an incoming request), sending nothing', async () => {
    const api = billingApi({ billingUrl: billing.url, internalAuth });
    const incoming = { 'x-internal-token': acceptOnly, 'x-user-id': 'user-1' };
    const refused = api.get('/balance/u1', { headers: incoming });
    await expect(refused).rejects.toMatchObject({
      code: 'ERR_INTERNAL_HEADER_REFUSED',
      reason: 'conflict',
      header: 'X-INTERNAL-TOKEN',
      message: `refused to send X-INTERNAL-TOKEN to ${billing.url}: the call already carries another value`,
    });
    expect(billing.seen).toEqual([]);
  });

  it('sends a credential the caller set to the same value once', async () => {
    const api = billingApi({ billingUrl: billing.url, internalAuth });
    await api.get('/balance/u1', { headers: { 'x-internal-token': token } });
    expect(headerLines(billing.seen[0], 'X-INTERNAL-TOKEN')).toEqual([token]);
  });

  it('never sends the credential to another origin through the same instance', async () => {
    const api = inventoryApi({ inventoryUrl: billing.url, internalAuth });
    await api.get(`${elsewhere.url}/status`);
    expect(headerLines(elsewhere.seen[0], 'X-INTERNAL-TOKEN')).toEqual([]);
    const leaking = api.get(`${elsewhere.url}/status`, { headers: { 'X-INTERNAL-TOKEN': token } });
    await expect(leaking).rejects.toMatchObject({ reason: 'foreign_origin' });
    expect(elsewhere.seen).toHaveLength(1);
  });

  it('does not follow a redirect with the credential', async () => {
    billing.handler = (_seen, response) => {
      response.writeHead(302, { location: `${elsewhere.url}/stolen` });
      response.end();
    };
    // Without the adapter, axios follows the redirect, custom headers and all.
    await axios.create({ baseURL: billing.url }).get('/balance/u1');
    expect(elsewhere.seen.map((seen) => seen.url)).toEqual(['/stolen']);
    const api = inventoryApi({ inventoryUrl: billing.url, internalAuth });
    await expect(api.get('/balance/u1')).rejects.toMatchObject({ status: 302 });
    expect(elsewhere.seen).toHaveLength(1);
  });

  it('ignores HTTP_PROXY for a call with the credential', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { HTTP_PROXY: elsewhere.url, http_proxy: elsewhere.url });
    for (const name of ['NO_PROXY', 'no_proxy']) delete process.env[name];
    try {
      // Without the adapter, axios sends the call through the proxy.
      await axios.create({ baseURL: billing.url }).get('/balance/u1');
      await inventoryApi({ inventoryUrl: billing.url, internalAuth }).get('/balance/u1');
    } finally {
      process.env = saved;
    }
    expect(elsewhere.seen).toHaveLength(1);
    expect(billing.seen).toHaveLength(1);
    expect(headerLines(billing.seen[0], 'X-INTERNAL-TOKEN')).toEqual([token]);
  });

  it('takes its headers from a provider, awaited per call, with the call it is for', async () => {
    const asked: InternalCallTarget[] = [];
    const jwtMode: InternalAuthConfig = {
      acceptedTokens: [],
      mode: 'jwt',
      serviceTokens: {
        issuer: 'http://auth.internal',
        jwksUrl: new URL('http://auth.internal/oauth2/jwks'),
        audience: 'backend',
        keySet: { timeoutMs: 1000, cooldownMs: 1000, cacheMaxAgeMs: 1000 },
      },
    };
    const credentials = new InternalCallCredentials(jwtMode, {
      timeoutMs: 1000,
      fetcher: async (audience) => ({
        accessToken: `service-token-for-${audience}`,
        expiresInSeconds: 300,
      }),
    });
    const api = billingApiWithServiceTokens(billing.url, credentials);
    const recording = createInternalAxios({
      baseURL: billing.url,
      timeoutMs: 3000,
      credential: (target) => {
        asked.push(target);
        return { 'X-INTERNAL-TOKEN': token };
      },
    });
    await api.get('/balance/u1');
    await recording.post('/holds?x=1', {});
    expect(headerLines(billing.seen[0], 'Authorization')).toEqual([
      'Bearer service-token-for-billing-server',
    ]);
    expect(headerLines(billing.seen[0], 'X-INTERNAL-TOKEN')).toEqual([]);
    expect(asked.map(({ url, method }) => [url.href, method])).toEqual([
      [`${billing.url}/holds?x=1`, 'POST'],
    ]);
  });

  it('sends nothing when the provider fails', async () => {
    const api = createInternalAxios({
      baseURL: billing.url,
      timeoutMs: 3000,
      credential: () => Promise.reject(new Error('auth server unavailable')),
    });
    await expect(api.get('/balance/u1')).rejects.toThrow('auth server unavailable');
    expect(billing.seen).toEqual([]);
  });

  it('can be uninstalled, and refuses to guess where the credential may go', async () => {
    const api: AxiosInstance = axios.create({ baseURL: billing.url });
    const uninstall = installInternalHeaders(api, { credential: internalAuth });
    uninstall();
    await api.get('/balance/u1');
    expect(headerLines(billing.seen[0], 'X-INTERNAL-TOKEN')).toEqual([]);
    expect(() => installInternalHeaders(axios.create(), { credential: internalAuth })).toThrow(
      TypeError,
    );
    expect(() =>
      installInternalHeaders(axios.create(), { credential: internalAuth, origins: ['billing'] }),
    ).toThrow('installInternalHeaders: "billing" is not an http(s) URL');
  });

  it('refuses the configuration alone in a mode whose calls need a service token', () => {
    const serviceTokens = {
      issuer: 'http://auth.internal',
      jwksUrl: new URL('http://auth.internal/oauth2/jwks'),
      audience: 'backend',
      keySet: { timeoutMs: 1000, cooldownMs: 1000, cacheMaxAgeMs: 1000 },
    };
    for (const config of [
      { ...internalAuth, mode: 'token+jwt' as const, serviceTokens },
      { ...internalAuth, mode: 'jwt' as const, serviceTokens },
      { ...internalAuth, shadow: 'jwt' as const, serviceTokens },
    ]) {
      expect(() =>
        createInternalAxios({ baseURL: billing.url, timeoutMs: 1000, credential: config }),
      ).toThrow(/sends a service token per callee/);
    }
  });
});
