import type { IncomingMessage } from 'node:http';
import { type FrameworkRequest, nodeRequestOf } from '../http/node-message';
import type { UserAssertion } from '../tokens/user-assertion';

// Kept beside the request rather than on it, so nothing a client sends can fill it.
const proofs = new WeakMap<IncomingMessage, UserAssertion>();

/** Records the user assertion {@link UserProofGuard} verified for `request`. */
export function setProvenUser(request: FrameworkRequest, assertion: UserAssertion): void {
  proofs.set(nodeRequestOf(request), assertion);
}

/**
 * The user assertion verified for `request` on an `@ActsForUser()` route with
 * `USER_PROOF=required`: the user who proved, through the calling service, that it acts for
 * them. `undefined` anywhere else.
 */
export function provenUserOf(request: FrameworkRequest): UserAssertion | undefined {
  return proofs.get(nodeRequestOf(request));
}
