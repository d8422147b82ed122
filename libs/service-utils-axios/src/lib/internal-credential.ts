import { type InternalAuthConfig, internalHeaders } from '@zt/service-utils';

/** The headers that prove an internal call, by name: today `{ "X-INTERNAL-TOKEN": <token> }`. */
export type InternalCredentialHeaders = Readonly<Record<string, string>>;

/** The call a credential is asked for: a provider may choose its token by callee. */
export interface InternalCallTarget {
  /** Where the call goes: the full URL, `baseURL` and `url` combined, with the query. */
  readonly url: URL;
  /** The method, in upper case. */
  readonly method: string;
}

/**
 * Gives the credential headers of one call, at once or as a promise. Called for every call
 * to an internal origin, just before it is sent. This is where a token provider plugs in (a
 * service token per callee from the auth server, cached and refreshed by the provider).
 */
export type InternalCredentialProvider = (
  target: InternalCallTarget,
) => InternalCredentialHeaders | Promise<InternalCredentialHeaders>;

/**
 * The credential an adapted axios instance adds: the trust kit's configuration (the headers
 * of `internalHeaders(config)`: the shared token of `INTERNAL_SERVICE_TOKEN`), or a
 * {@link InternalCredentialProvider}.
 */
export type InternalCredential = InternalAuthConfig | InternalCredentialProvider;

/** The headers `credential` gives for a call to `target`. */
export async function credentialHeaders(
  credential: InternalCredential,
  target: InternalCallTarget,
): Promise<InternalCredentialHeaders> {
  return typeof credential === 'function' ? credential(target) : internalHeaders(credential);
}
