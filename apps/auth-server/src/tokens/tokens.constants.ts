/** Injection token of the signing key file's path. */
export const SIGNING_KEY_FILE = Symbol('SIGNING_KEY_FILE');
/** Injection token of the token settings: `{ issuer, ttlSeconds }`. */
export const TOKEN_SETTINGS = Symbol('TOKEN_SETTINGS');
/** The audience of every access token: the public backend. */
export const TOKEN_AUDIENCE = 'backend';
