// A client nobody here wrote: oauth4webapi (ESM only, which this repo's Jest, ts-jest in
// CommonJS, cannot import), run by oauth-interop.e2e-spec.ts as a plain Node process.
//
// Reads one request from the environment variable OAUTH4WEBAPI_REQUEST (JSON: issuer,
// clientId, clientSecret, method `client_secret_basic` | `client_secret_post`, parameters),
// discovers the authorization server from its RFC 8414 metadata, makes one client-credentials
// grant and writes one JSON line to stdout: what oauth4webapi made of the answer. The
// secret is never written.
import * as oauth from 'oauth4webapi';

const input = JSON.parse(process.env.OAUTH4WEBAPI_REQUEST ?? '{}');

// oauth4webapi refuses http: URLs (a token over plain HTTP can be read on the wire) unless
// told otherwise per call. The services under test listen on 127.0.0.1 over plain HTTP, as
// in the repo's own stack; a deployment puts TLS in front, and the option stays out of any
// code but this test's.
const insecure = { [oauth.allowInsecureRequests]: true };

async function run() {
  const issuer = new URL(input.issuer);
  const discovery = await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure });
  const as = await oauth.processDiscoveryResponse(issuer, discovery);
  const client = { client_id: input.clientId };
  const authentication =
    input.method === 'client_secret_post'
      ? oauth.ClientSecretPost(input.clientSecret)
      : oauth.ClientSecretBasic(input.clientSecret);
  const metadata = {
    issuer: as.issuer,
    token_endpoint: as.token_endpoint,
    jwks_uri: as.jwks_uri,
    token_endpoint_auth_methods_supported: as.token_endpoint_auth_methods_supported,
  };
  try {
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      client,
      authentication,
      new URLSearchParams(input.parameters),
      insecure,
    );
    const token = await oauth.processClientCredentialsResponse(as, client, response);
    return { kind: 'token', metadata, token };
  } catch (error) {
    // An RFC 6749 error in the body (400 invalid_target, ...).
    if (error instanceof oauth.ResponseBodyError) {
      return {
        kind: 'error_body',
        metadata,
        status: error.status,
        error: error.error,
        error_description: error.error_description,
      };
    }
    // A 401 with `WWW-Authenticate`: oauth4webapi stops at the challenge, before the body.
    if (error instanceof oauth.WWWAuthenticateChallengeError) {
      return {
        kind: 'challenge',
        metadata,
        status: error.status,
        challenges: error.cause,
        body: await error.response.json(),
      };
    }
    throw error;
  }
}

run().then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (error) => {
    process.stdout.write(
      `${JSON.stringify({ kind: 'failed', name: error?.name, code: error?.code, message: error?.message })}\n`,
    );
    process.exitCode = 1;
  },
);
