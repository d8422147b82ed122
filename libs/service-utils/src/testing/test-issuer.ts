import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, type KeyLike } from 'jose';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An Ed25519 signing key and its public JWK, with its `kid` (a thumbprint). */
export interface TestSigningKey {
  readonly privateKey: KeyLike;
  readonly publicJwk: JWK & { kid: string };
}

/** A stand-in token issuer for the kit's specs: an Ed25519 key and its JWKS, served over HTTP. */
export interface TestIssuer extends TestSigningKey {
  /** Its base URL: the `iss` of its tokens. */
  readonly url: string;
  /** Where it publishes its key set. */
  readonly jwksUrl: URL;
  /** The keys it publishes (at first its own); change them to rotate or withdraw a key. */
  keys: JWK[];
  /** How the next requests for the key set are answered: the keys, a 500, or never. */
  mode: 'serve' | 'error' | 'hang';
  /** How many times the key set was asked for. */
  fetches(): number;
  close(): Promise<void>;
}

/** A new {@link TestSigningKey}. */
export async function generateTestSigningKey(): Promise<TestSigningKey> {
  const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const jwk = await exportJWK(pair.publicKey);
  const publicJwk = { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: 'EdDSA', use: 'sig' };
  return { privateKey: pair.privateKey, publicJwk };
}

/** Starts a {@link TestIssuer} that answers its key set at `jwksPath` and 404 elsewhere. */
export async function startTestIssuer(jwksPath: string): Promise<TestIssuer> {
  const { privateKey, publicJwk } = await generateTestSigningKey();
  let fetches = 0;
  const state: Pick<TestIssuer, 'keys' | 'mode'> = { keys: [publicJwk], mode: 'serve' };
  const server = createServer((request, response) => {
    if (request.url === jwksPath) {
      fetches += 1;
      if (state.mode === 'hang') return;
    }
    const status = request.url !== jwksPath ? 404 : state.mode === 'error' ? 500 : 200;
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(status === 200 ? { keys: state.keys } : {}));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(state, {
    url,
    jwksUrl: new URL(`${url}${jwksPath}`),
    privateKey,
    publicJwk,
    fetches: () => fetches,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  });
}
