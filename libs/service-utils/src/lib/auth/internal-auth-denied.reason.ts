/** Why the internal guard refused a request. Logged, counted, never sent to the caller. */
export type InternalAuthDeniedReason =
  'missing' | 'empty' | 'repeated' | 'comma_joined' | 'mismatch';
