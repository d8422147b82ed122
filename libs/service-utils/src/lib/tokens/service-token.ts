import { JwtVerifier, type KeySetOptions, type TokenProfile } from './jwt-verifier';
import { TokenRejectedError } from './token-errors';

/** The `typ` of a service token: an OAuth 2.0 access token as a JWT (RFC 9068). */
export const SERVICE_TOKEN_TYPE = 'at+jwt';

/** The longest a service token may live (DESIGN section 9): 10 minutes. */
export const SERVICE_TOKEN_MAX_LIFETIME_SECONDS = 600;

/**
 * A service's name, everywhere on the platform: its OAuth client id, a service token's `sub`
 * and `aud`, `X-Caller-Service`, billing's idempotency namespace. Lower-case words of letters
 * and digits joined by single dashes, starting with a letter, at most 63 characters.
 */
export const SERVICE_NAME_PATTERN = /^(?=.{1,63}$)[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

// A scope token (RFC 6749 section 3.3), kept to what our scope names use.
const SCOPE_TOKEN = /^[a-z][a-z0-9.:_-]{0,127}$/;

/** The service that called, as its verified token says. */
export interface ServiceCaller {
  /** `sub` = `client_id`: the calling service. */
  readonly name: string;
  /** `scope`: what it may do at this service. */
  readonly scopes: ReadonlySet<string>;
  /** `jti`. */
  readonly tokenId: string;
  /** `exp`, unix seconds. */
  readonly expiresAt: number;
}

/** Where service tokens come from and who this service is. */
export interface ServiceTokenSettings {
  /** The issuer (auth-server's URL): the required `iss`. */
  readonly issuer: string;
  /** The issuer's JWKS. */
  readonly jwksUrl: URL;
  /** This service's name: the required `aud`. */
  readonly audience: string;
  readonly keySet: KeySetOptions;
}

/**
 * The service-token profile: `typ` at+jwt, `aud` this service, at most 10 minutes, `sub` a
 * service name equal to `client_id`, `scope` a space-separated list, `jti` present. A user
 * token (`typ` JWT, `aud` backend) never passes.
 */
export function serviceTokenProfile(settings: ServiceTokenSettings): TokenProfile<ServiceCaller> {
  return {
    issuer: settings.issuer,
    jwksUrl: settings.jwksUrl,
    audience: settings.audience,
    type: SERVICE_TOKEN_TYPE,
    maxLifetimeSeconds: SERVICE_TOKEN_MAX_LIFETIME_SECONDS,
    requiredClaims: ['sub', 'client_id', 'scope', 'jti'],
    readClaims: ({ sub, client_id: clientId, scope, jti, exp }) => {
      if (typeof sub !== 'string' || !SERVICE_NAME_PATTERN.test(sub)) {
        throw new TokenRejectedError('invalid_subject');
      }
      if (clientId !== sub) throw new TokenRejectedError('client_id_not_subject');
      if (typeof scope !== 'string') throw new TokenRejectedError('invalid_scope');
      const scopes = scope === '' ? [] : scope.split(' ');
      if (!scopes.every((token) => SCOPE_TOKEN.test(token))) {
        throw new TokenRejectedError('invalid_scope');
      }
      if (typeof jti !== 'string' || jti === '') throw new TokenRejectedError('invalid_token_id');
      return { name: sub, scopes: new Set(scopes), tokenId: jti, expiresAt: exp as number };
    },
  };
}

/** A {@link JwtVerifier} of service tokens for this service. */
export function createServiceTokenVerifier(
  settings: ServiceTokenSettings,
): JwtVerifier<ServiceCaller> {
  return new JwtVerifier({ ...serviceTokenProfile(settings), keySet: settings.keySet });
}
