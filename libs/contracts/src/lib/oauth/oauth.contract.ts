import { z } from 'zod';
import { type AnswerSpec, defineEndpoint } from '../endpoint';

// The auth server as the OAuth 2.0 authorization server of the services (DESIGN section 9):
// the token endpoint (client credentials only), introspection (RFC 7662) and revocation
// (RFC 7009) of service tokens, its metadata (RFC 8414) and the key set that verifies them.

/**
 * The error codes of the token endpoint (RFC 6749 section 5.2, RFC 8707 `invalid_target`) and
 * its siblings. `temporarily_unavailable` (registered by RFC 6749 section 4.1.2.1 for the
 * authorization endpoint) answers a client past its rate limit, with 429 and `Retry-After`.
 */
export const TOKEN_ERROR_CODES = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'invalid_target',
  'temporarily_unavailable',
] as const;

/** One error code of the token endpoint. */
export type TokenErrorCode = (typeof TOKEN_ERROR_CODES)[number];

/** An error answer of the token endpoint: `{"error": <code>, "error_description"?}`. */
export const tokenErrorBody = <const Code extends TokenErrorCode>(code: Code) =>
  z.object({ error: z.literal(code), error_description: z.string().optional() });

/** Headers sent with every answer of the token endpoint, success and error alike. */
const NO_STORE_HEADERS = {
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
} as const;

const tokenError = <const Kind extends TokenErrorCode>(
  status: number,
  kind: Kind,
  description: string,
  headers: Readonly<Record<string, string>> = NO_STORE_HEADERS,
): AnswerSpec<Kind, ReturnType<typeof tokenErrorBody<Kind>>> => ({
  status,
  kind,
  body: tokenErrorBody(kind),
  description,
  headers,
});

/** The grant of service tokens (RFC 6749 section 4.4). */
export const CLIENT_CREDENTIALS_GRANT = 'client_credentials';

/** The grant of user assertions: token exchange (RFC 8693) of a user's access token. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';

/** Every grant type of the token endpoint, as the metadata lists them. */
export const GRANT_TYPES = [CLIENT_CREDENTIALS_GRANT, TOKEN_EXCHANGE_GRANT] as const;

/** `subject_token_type` of a user's access token (RFC 8693 section 3). */
export const ACCESS_TOKEN_TYPE_URN = 'urn:ietf:params:oauth:token-type:access_token';

/**
 * `issued_token_type` of a user assertion (RFC 8693 section 3): a JWT, not an access token a
 * callee takes on its own (hence `token_type` `N_A`).
 */
export const JWT_TOKEN_TYPE_URN = 'urn:ietf:params:oauth:token-type:jwt';

/** How a client may authenticate at the token endpoint (exactly one per request). */
export const TOKEN_ENDPOINT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'] as const;

const CLIENT_AUTHENTICATION_HEADER = {
  name: 'Authorization',
  description:
    'client_secret_basic: Basic base64(urlencode(client_id):urlencode(client_secret)); ' +
    'leave it out for client_secret_post',
} as const;

const invalidClient = tokenError(
  401,
  'invalid_client',
  'Unknown client, wrong secret, or no authentication',
  { ...NO_STORE_HEADERS, 'WWW-Authenticate': 'Basic realm="auth-server"' },
);

const rateLimited = tokenError(
  429,
  'temporarily_unavailable',
  'The client asked for too many service tokens or revocations (per client, over every ' +
    'replica); Retry-After says in how many seconds it may try again',
  { ...NO_STORE_HEADERS, 'Retry-After': 'Seconds until the client may try again' },
);

// The trust kit verifies service tokens: the profile is written once, there.
export {
  /** The `typ` header of every service token (RFC 9068). */
  SERVICE_TOKEN_TYPE,
  /** The longest a service token may live, in seconds (DESIGN section 9: at most 10 minutes). */
  SERVICE_TOKEN_MAX_LIFETIME_SECONDS as MAX_SERVICE_TOKEN_LIFETIME_SECONDS,
  /** The `typ` header of every user assertion (token exchange). */
  USER_ASSERTION_TYPE,
  /** The longest a user assertion may live, in seconds. */
  USER_ASSERTION_MAX_LIFETIME_SECONDS,
} from '@zt/service-utils';

/**
 * The form fields of a token request, as documented (the endpoint parses the form itself).
 * Other parameters are ignored (RFC 6749 section 3.2), hence no `.strict()`.
 */
const tokenRequestForm = z.object({
  grant_type: z.enum(GRANT_TYPES),
  subject_token: z
    .string()
    .optional()
    .describe("token exchange only: the user's access token (its audience is the client)"),
  subject_token_type: z
    .literal(ACCESS_TOKEN_TYPE_URN)
    .optional()
    .describe('token exchange only: required, the access token type URN'),
  requested_token_type: z
    .literal(JWT_TOKEN_TYPE_URN)
    .optional()
    .describe('token exchange only: optional, the JWT type URN'),
  audience: z
    .string()
    .optional()
    .describe('The callee by service name, e.g. billing-server; or give resource'),
  resource: z
    .string()
    .url()
    .optional()
    .describe('The callee by its base URL (RFC 8707); or give audience, not both'),
  scope: z
    .string()
    .optional()
    .describe(
      'Space-separated scopes; without it, every scope the client may have for the audience',
    ),
  client_id: z.string().optional().describe('client_secret_post only'),
  client_secret: z.string().optional().describe('client_secret_post only'),
});

export const issueServiceToken = defineEndpoint({
  method: 'POST',
  path: '/oauth2/token',
  summary:
    'A service token (RFC 9068 JWT) for one callee by the client credentials grant, or a user ' +
    'assertion for one callee by token exchange (RFC 8693) of a user access token whose ' +
    'audience is the client; client_secret_basic or client_secret_post',
  requestType: 'form',
  body: tokenRequestForm,
  headers: [CLIENT_AUTHENTICATION_HEADER],
  answers: [
    {
      status: 200,
      kind: 'ok',
      body: z.object({
        access_token: z.string(),
        token_type: z.literal('Bearer'),
        expires_in: z.number().int().positive(),
        scope: z.string(),
      }),
      description: 'A service token',
      headers: NO_STORE_HEADERS,
    },
    {
      status: 200,
      kind: 'exchanged',
      body: z.object({
        access_token: z.string(),
        issued_token_type: z.literal(JWT_TOKEN_TYPE_URN),
        token_type: z.literal('N_A'),
        expires_in: z.number().int().positive(),
        scope: z.string(),
      }),
      description:
        'A user assertion (token exchange): sent in X-User-Assertion beside the service token',
      headers: NO_STORE_HEADERS,
    },
    tokenError(
      400,
      'invalid_grant',
      'Token exchange: the subject token is not a valid, live user access token issued to the client',
    ),
    tokenError(
      400,
      'invalid_request',
      'Malformed form, a repeated parameter, no audience, two ways of authenticating, ...',
    ),
    tokenError(400, 'invalid_target', 'An audience or resource the client may not have'),
    tokenError(400, 'invalid_scope', 'A scope outside the client’s policy for the audience'),
    tokenError(
      400,
      'unsupported_grant_type',
      'A grant type other than client_credentials or token exchange',
    ),
    tokenError(400, 'unauthorized_client', 'The client may not get service tokens at all'),
    tokenError(401, 'invalid_client', 'Unknown client, wrong secret, or no authentication', {
      ...NO_STORE_HEADERS,
      'WWW-Authenticate': 'Basic realm="auth-server"',
    }),
    tokenError(413, 'invalid_request', 'A form larger than the limit'),
    rateLimited,
  ],
});

/** The form of an introspection or a revocation request: the token, and a hint ignored. */
const tokenForm = z.object({
  token: z.string().describe('The service token (the compact JWT)'),
  token_type_hint: z.string().optional().describe('Ignored: every token here is an access token'),
  client_id: z.string().optional().describe('client_secret_post only'),
  client_secret: z.string().optional().describe('client_secret_post only'),
});

/** What introspection tells a resource server about an active service token (RFC 7662). */
export const activeTokenBody = z.object({
  active: z.literal(true),
  sub: z.string(),
  client_id: z.string(),
  aud: z.string(),
  scope: z.string(),
  iss: z.string(),
  exp: z.number().int(),
  iat: z.number().int(),
  jti: z.string(),
  token_type: z.literal('Bearer'),
});

export const introspectServiceToken = defineEndpoint({
  method: 'POST',
  path: '/oauth2/introspect',
  summary:
    'Whether a service token is active now (RFC 7662): signed here, unexpired, not revoked, its ' +
    'client not revoked, and issued for the asking client',
  requestType: 'form',
  body: tokenForm,
  headers: [CLIENT_AUTHENTICATION_HEADER],
  answers: [
    {
      status: 200,
      kind: 'ok',
      body: z.union([activeTokenBody, z.object({ active: z.literal(false) }).strict()]),
      description:
        'The token’s claims when it is active and its audience is the asking client; exactly ' +
        '{"active":false} otherwise, whatever the reason',
      headers: NO_STORE_HEADERS,
    },
    tokenError(400, 'invalid_request', 'Malformed form, a repeated parameter, no token, ...'),
    invalidClient,
    tokenError(413, 'invalid_request', 'A form larger than the limit'),
  ],
});

export const revokeServiceToken = defineEndpoint({
  method: 'POST',
  path: '/oauth2/revoke',
  summary:
    'Revokes a service token (RFC 7009): only the client it was issued to may; introspection ' +
    'answers inactive at once',
  requestType: 'form',
  body: tokenForm,
  headers: [CLIENT_AUTHENTICATION_HEADER],
  answers: [
    {
      status: 200,
      kind: 'ok',
      body: z.object({}).strict(),
      description: 'Revoked, or nothing to revoke (an invalid, expired or unknown token)',
      headers: NO_STORE_HEADERS,
    },
    tokenError(400, 'invalid_request', 'Malformed form, a repeated parameter, no token, ...'),
    tokenError(400, 'unauthorized_client', 'A valid token issued to another client'),
    invalidClient,
    tokenError(413, 'invalid_request', 'A form larger than the limit'),
    rateLimited,
  ],
});

/** The authorization server metadata (RFC 8414) the auth server publishes. */
export const authorizationServerMetadataBody = z.object({
  issuer: z.string(),
  token_endpoint: z.string(),
  jwks_uri: z.string(),
  introspection_endpoint: z.string(),
  introspection_endpoint_auth_methods_supported: z.array(z.string()),
  revocation_endpoint: z.string(),
  revocation_endpoint_auth_methods_supported: z.array(z.string()),
  grant_types_supported: z.array(z.string()),
  token_endpoint_auth_methods_supported: z.array(z.string()),
  scopes_supported: z.array(z.string()),
  response_types_supported: z.array(z.string()),
});

export const authorizationServerMetadata = defineEndpoint({
  method: 'GET',
  path: '/.well-known/oauth-authorization-server',
  summary: 'Authorization server metadata (RFC 8414) for service clients',
  answers: [
    {
      status: 200,
      kind: 'ok',
      body: authorizationServerMetadataBody,
      description: 'The metadata',
    },
  ],
});

/** One public key of a JWKS (never a private member). */
const publicJwk = z.object({
  kty: z.string(),
  crv: z.string(),
  x: z.string(),
  kid: z.string(),
  alg: z.string(),
  use: z.string(),
});

export const serviceTokenJwks = defineEndpoint({
  method: 'GET',
  path: '/oauth2/jwks',
  summary:
    'The public keys that verify service tokens: the current one and those retired less ' +
    'than the longest token lifetime ago',
  answers: [
    {
      status: 200,
      kind: 'ok',
      body: z.object({ keys: z.array(publicJwk) }),
      description: 'The key set',
    },
  ],
});
