/** What a limit counts, as the `limit` label of `rate_limited_requests_total`. */
export type RateLimitName = 'internal_route' | 'token_endpoint' | 'failed_login';
