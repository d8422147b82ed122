/** Injection token of {@link OAuthModuleOptions}. */
export const OAUTH_OPTIONS = Symbol('OAUTH_OPTIONS');

/**
 * How long a retired signing key stays published after its last token, in seconds: the
 * longest token lifetime plus a minute of clock skew between the auth server and a verifier.
 */
export const RETIRED_KEY_GRACE_SECONDS = 60;

/** The largest token request body, in bytes (a form of a few short fields). */
export const MAX_TOKEN_REQUEST_BYTES = 8 * 1024;

/** The realm of `WWW-Authenticate: Basic` on an `invalid_client` answer. */
export const TOKEN_ENDPOINT_REALM = 'auth-server';

/** The client id of the auth server itself, whose tokens it mints without a request. */
export const OWN_CLIENT_ID = 'auth-server';
