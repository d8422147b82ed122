/** Every reason the internal guard can refuse a request for (the label values of `internal_auth_denied_total`). */
export const INTERNAL_AUTH_DENIED_REASONS = [
  // X-INTERNAL-TOKEN (modes token and token+jwt): 403
  'missing',
  'empty',
  'repeated',
  'comma_joined',
  'mismatch',
  // The service token (modes token+jwt and jwt): 401 ...
  'bearer_missing',
  'bearer_repeated',
  'bearer_malformed',
  'token_rejected',
  // ... 403 ...
  'insufficient_scope',
  'no_scopes_declared',
  // ... or 503, when the issuer's keys cannot be had.
  'keys_unavailable',
  // An `@Introspected()` route: the issuer calls the token inactive (401), or cannot say (503).
  'token_inactive',
  'introspection_unavailable',
  // A `@ScrapeOnly()` route (GET /metrics) in modes token and token+jwt: a bearer that is not
  // the metrics token, or no METRICS_TOKEN configured (401).
  'metrics_token_mismatch',
  'metrics_token_unset',
] as const;

/** Why the internal guard refused a request. Logged, counted, never sent to the caller. */
export type InternalAuthDeniedReason = (typeof INTERNAL_AUTH_DENIED_REASONS)[number];
