import { USER_ID_PATTERN } from '../auth/acting-user';
import { JwtVerifier, type TokenProfile } from './jwt-verifier';
import { SERVICE_NAME_PATTERN, type ServiceTokenSettings } from './service-token';
import { TokenRejectedError } from './token-errors';

/**
 * The `typ` of a user assertion: a token the auth server exchanged (RFC 8693) for a user's
 * access token, bound to that user, the service acting for them and one callee. Neither a
 * service token (`at+jwt`) nor a user token (`JWT`): no verifier of one accepts the other.
 */
export const USER_ASSERTION_TYPE = 'user-assertion+jwt';

/** The longest a user assertion may live: as a service token, 10 minutes. */
export const USER_ASSERTION_MAX_LIFETIME_SECONDS = 600;

/** The header that carries a user assertion beside the caller's own credential. */
export const USER_ASSERTION_HEADER = 'X-User-Assertion';

// A scope token (RFC 6749 section 3.3), kept to what our scope names use.
const SCOPE_TOKEN = /^[a-z][a-z0-9.:_-]{0,127}$/;

/** What a verified user assertion proves. */
export interface UserAssertion {
  /** `sub`: the user whose own token was exchanged. */
  readonly userId: string;
  /** `act.sub` = `client_id`: the service that exchanged it, and may act for the user. */
  readonly actor: string;
  /** `scope`: what the actor may do for the user at this callee. */
  readonly scopes: ReadonlySet<string>;
  /** `jti`. */
  readonly tokenId: string;
  /** `exp`, unix seconds. */
  readonly expiresAt: number;
}

/**
 * The user-assertion profile: `typ` {@link USER_ASSERTION_TYPE}, signed with the service-token
 * keys (the issuer's `jwks_uri`), `aud` this service, at most 10 minutes, `sub` a user id,
 * `act.sub` a service name equal to `client_id`, `scope` a space-separated list, `jti` present.
 */
export function userAssertionProfile(settings: ServiceTokenSettings): TokenProfile<UserAssertion> {
  return {
    issuer: settings.issuer,
    jwksUrl: settings.jwksUrl,
    audience: settings.audience,
    type: USER_ASSERTION_TYPE,
    maxLifetimeSeconds: USER_ASSERTION_MAX_LIFETIME_SECONDS,
    requiredClaims: ['sub', 'act', 'client_id', 'scope', 'jti'],
    readClaims: ({ sub, act, client_id: clientId, scope, jti, exp }) => {
      if (typeof sub !== 'string' || !USER_ID_PATTERN.test(sub)) {
        throw new TokenRejectedError('invalid_subject');
      }
      const actor =
        typeof act === 'object' && act !== null && !Array.isArray(act)
          ? (act as Record<string, unknown>)['sub']
          : undefined;
      if (typeof actor !== 'string' || !SERVICE_NAME_PATTERN.test(actor)) {
        throw new TokenRejectedError('invalid_actor');
      }
      if (clientId !== actor) throw new TokenRejectedError('client_id_not_actor');
      if (typeof scope !== 'string') throw new TokenRejectedError('invalid_scope');
      const scopes = scope === '' ? [] : scope.split(' ');
      if (!scopes.every((token) => SCOPE_TOKEN.test(token))) {
        throw new TokenRejectedError('invalid_scope');
      }
      if (typeof jti !== 'string' || jti === '') throw new TokenRejectedError('invalid_token_id');
      return {
        userId: sub,
        actor,
        scopes: new Set(scopes),
        tokenId: jti,
        expiresAt: exp as number,
      };
    },
  };
}

/** A {@link JwtVerifier} of user assertions addressed to this service. */
export function createUserAssertionVerifier(
  settings: ServiceTokenSettings,
): JwtVerifier<UserAssertion> {
  return new JwtVerifier({ ...userAssertionProfile(settings), keySet: settings.keySet });
}
