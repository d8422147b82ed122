/** Every reason the internal guard can refuse a request for (the label values of `internal_auth_denied_total`). */
export const INTERNAL_AUTH_DENIED_REASONS = [
  'missing',
  'empty',
  'repeated',
  'comma_joined',
  'mismatch',
] as const;

/** Why the internal guard refused a request. Logged, counted, never sent to the caller. */
export type InternalAuthDeniedReason = (typeof INTERNAL_AUTH_DENIED_REASONS)[number];
