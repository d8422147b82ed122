/** The header that carries the internal credential on every internal call. */
export const INTERNAL_TOKEN_HEADER = 'X-INTERNAL-TOKEN';

/** Injection token of the {@link InternalAuthConfig} given to `InternalAuthModule.forRoot`. */
export const INTERNAL_AUTH_CONFIG = Symbol('INTERNAL_AUTH_CONFIG');
