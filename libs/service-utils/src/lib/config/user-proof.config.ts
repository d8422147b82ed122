import type { ServiceTokenSettings } from '../tokens/service-token';
import { ConfigError } from './config.error';
import { type Environment, readChoice } from './environment';
import type { InternalAuthConfig } from './internal-auth.config';

/**
 * Whether routes marked `@ActsForUser()` ask for the user's own proof (`USER_PROOF`):
 * - `off` (the default): the calling service's word for the user is enough, as before;
 * - `required`: the call must also carry a user assertion (`X-User-Assertion`) for the very
 *   user the request names, exchanged by the calling service at the auth server.
 */
export const USER_PROOF_MODES = ['off', 'required'] as const;
export type UserProofMode = (typeof USER_PROOF_MODES)[number];

/** How `@ActsForUser()` routes check the user's proof. */
export type UserProofConfig =
  | { readonly mode: 'off' }
  | {
      readonly mode: 'required';
      /** How assertions are verified: the service-token issuer, key set and audience. */
      readonly assertions: ServiceTokenSettings;
    };

/**
 * Reads `USER_PROOF` (`off` or `required`). `required` needs verified callers and the issuer's
 * key set, so `INTERNAL_AUTH_MODE` `token+jwt` or `jwt` (read into `internalAuth` first): an
 * assertion is bound to the service that exchanged it, which `token` mode cannot tell apart.
 * @throws ConfigError naming the variable.
 */
export function loadUserProofConfig(
  env: Environment,
  internalAuth: InternalAuthConfig,
): UserProofConfig {
  const mode = readChoice(env, 'USER_PROOF', USER_PROOF_MODES, 'off');
  if (mode === 'off') return { mode };
  if ((internalAuth.mode ?? 'token') === 'token' || !internalAuth.serviceTokens) {
    throw new ConfigError(
      'USER_PROOF',
      'required needs INTERNAL_AUTH_MODE token+jwt or jwt (and AUTH_SERVER_URL): a user ' +
        'assertion is bound to the verified calling service and checked with the issuer key set',
    );
  }
  return { mode, assertions: internalAuth.serviceTokens };
}
