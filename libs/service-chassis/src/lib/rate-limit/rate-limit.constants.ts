/** Injection token of the {@link RateLimitConfig} given to `RateLimitModule.forRoot`. */
export const RATE_LIMIT_CONFIG = Symbol('RATE_LIMIT_CONFIG');

/** What a limit counts, as the `limit` label of `rate_limited_requests_total`. */
export type RateLimitName = 'internal_route' | 'token_endpoint' | 'failed_login';
