import { findTokenWeakness } from '../config/token-strength';

/**
 * The variable holding a service client's secret: the client id in upper case with `_` for
 * `-`, then `_CLIENT_SECRET` (`auth-server` -> `AUTH_SERVER_CLIENT_SECRET`). The next secret
 * during a rotation is the same name with `_NEXT`.
 */
export function clientSecretVariable(clientId: string): string {
  return `${clientId.toUpperCase().replaceAll('-', '_')}_CLIENT_SECRET`;
}

/** The least entropy of a client secret, in bits, counted as if each character were random. */
export const MIN_CLIENT_SECRET_BITS = 256;

const HEX = /^[0-9A-Fa-f]+$/;
// base64url without padding: the same text form-encoded or not, so client_secret_basic gives
// the same secret whether a client form-encodes it first (RFC 6749 section 2.3.1) or not (curl -u).
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const GENERATE = '`openssl rand -hex 32`';

/**
 * Explains why `secret` cannot be a client secret, or `undefined` when it can. A secret is
 * hex (4 bits a character, so at least 64 characters) or unpadded base64url (6 bits a
 * character, so at least 43): at least {@link MIN_CLIENT_SECRET_BITS} bits when generated at
 * random, as `openssl rand -hex 32` does. The explanation never contains the secret.
 */
export function findClientSecretWeakness(secret: string): string | undefined {
  // The internal token's rules first: not empty, no placeholder, 12 distinct characters, ...
  const common = findTokenWeakness(secret);
  if (common) return common;
  let bitsPerCharacter: number;
  if (HEX.test(secret)) bitsPerCharacter = 4;
  else if (BASE64URL.test(secret)) bitsPerCharacter = 6;
  else return `must be hex or unpadded base64url (generate one with ${GENERATE})`;
  if (secret.length * bitsPerCharacter < MIN_CLIENT_SECRET_BITS) {
    const least = Math.ceil(MIN_CLIENT_SECRET_BITS / bitsPerCharacter);
    const alphabet = bitsPerCharacter === 4 ? 'hex' : 'base64url';
    return (
      `is shorter than ${MIN_CLIENT_SECRET_BITS} bits (${least} characters of ${alphabet}; ` +
      `generate one with ${GENERATE})`
    );
  }
  return undefined;
}
