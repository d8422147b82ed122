import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, type KeyLike } from 'jose';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A stand-in token issuer for the kit's specs: an Ed25519 key and its JWKS, served over HTTP. */
export interface TestIssuer {
  /** Its base URL: the `iss` of its tokens. */
  readonly url: string;
  /** Where it publishes its key set. */
  readonly jwksUrl: URL;
  readonly privateKey: KeyLike;
  /** The published key, with its `kid` (a thumbprint). */
  readonly publicJwk: JWK & { kid: string };
  close(): Promise<void>;
}

/** Starts a {@link TestIssuer} that answers its key set at `jwksPath` and 404 elsewhere. */
export async function startTestIssuer(jwksPath: string): Promise<TestIssuer> {
  const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const jwk = await exportJWK(pair.publicKey);
  const publicJwk = { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: 'EdDSA', use: 'sig' };
  const server = createServer((request, response) => {
    response.writeHead(request.url === jwksPath ? 200 : 404, {
      'content-type': 'application/json',
    });
    response.end(JSON.stringify({ keys: [publicJwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    jwksUrl: new URL(`${url}${jwksPath}`),
    privateKey: pair.privateKey,
    publicJwk,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
