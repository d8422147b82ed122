import type { JWK } from 'jose';
import { sendJson, startScriptedServer } from '@zt/test-kit';

/** A real HTTP server standing in for the auth server's `/.well-known/jwks.json`. */
export interface JwksServer {
  /** Its base URL: what the backend knows as `AUTH_SERVER_URL`. */
  readonly url: string;
  /** The keys it publishes; change them to rotate. */
  keys: JWK[];
  /** How the next requests are answered: the JWKS, a 500, or never. */
  mode: 'serve' | 'error' | 'hang';
  /** How many times the key set was fetched. */
  fetches(): number;
  close(): Promise<void>;
}

/** Starts a {@link JwksServer} publishing `keys`. */
export async function startJwksServer(keys: JWK[]): Promise<JwksServer> {
  const state: Pick<JwksServer, 'keys' | 'mode'> = { keys, mode: 'serve' };
  const server = await startScriptedServer((request, response) => {
    if (request.url !== '/.well-known/jwks.json') return sendJson(response, 404, {});
    if (state.mode === 'hang') return;
    if (state.mode === 'error') return sendJson(response, 500, { error: 'internal error' });
    sendJson(response, 200, { keys: state.keys });
  });
  return Object.assign(state, {
    url: server.url,
    fetches: () => server.seen.filter((seen) => seen.url === '/.well-known/jwks.json').length,
    close: () => server.close(),
  });
}
