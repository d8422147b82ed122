/** Injection token of the `UserProofConfig` given to `UserProofModule.forRoot`. */
export const USER_PROOF_CONFIG = Symbol('USER_PROOF_CONFIG');

/** Metadata key that `ActsForUser` sets and `UserProofGuard` reads. */
export const ACTS_FOR_USER_KEY = 'actsForUser';

/**
 * Where a route's request names the user it acts for: the `X-User-ID` header, a path
 * parameter, or a top-level field of the JSON body.
 */
export type NamedUser =
  { readonly header: 'X-User-ID' } | { readonly param: string } | { readonly body: string };
