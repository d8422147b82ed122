/** Injection token of the {@link UserTokenVerifierOptions}. */
export const USER_TOKEN_VERIFIER_OPTIONS = Symbol('USER_TOKEN_VERIFIER_OPTIONS');
/** Injection token of the {@link SessionsOptions}. */
export const SESSIONS_OPTIONS = Symbol('SESSIONS_OPTIONS');
/** The `aud` every access token must carry: this service. */
export const TOKEN_AUDIENCE = 'backend';
/** The `typ` header of a user access token (a service token says `at+jwt`). */
export const TOKEN_TYPE = 'JWT';
/** The longest a user token may live: `exp - iat`, and its age whatever `exp` says. */
export const MAX_TOKEN_LIFETIME_SECONDS = 15 * 60;
/** Where the auth server publishes its public keys, relative to `AUTH_SERVER_URL`. */
export const JWKS_PATH = '/.well-known/jwks.json';
