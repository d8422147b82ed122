import type { IncomingMessage } from 'node:http';

/** The user a request acts for, as its verified access token says. */
export interface AuthenticatedUser {
  /** The token's `sub`: the user id everywhere on the platform (billing, filesystem). */
  readonly userId: string;
  /** The token's `email` claim. */
  readonly email: string;
  /** The token's `jti`: what a logout revokes. */
  readonly tokenId: string;
  /** The token's `iat` and `exp`, unix seconds. */
  readonly issuedAt: number;
  readonly expiresAt: number;
}

// The access token each verified user came with, beside the user (never a field of it, so
// that no log line of a user can carry it). Secret.
const accessTokens = new WeakMap<AuthenticatedUser, string>();

/** Records the access token `user` was verified from (what the backend exchanges upstream). */
export function setAccessTokenOf(user: AuthenticatedUser, token: string): void {
  accessTokens.set(user, token);
}

/** The access token `user` was verified from, if recorded. Secret: never logged. */
export function accessTokenOf(user: AuthenticatedUser): string | undefined {
  return accessTokens.get(user);
}

// Kept beside the request rather than on it, so nothing a client sends can fill it.
const users = new WeakMap<IncomingMessage, AuthenticatedUser>();

/** Records the user whose token the guard verified for `request`. */
export function setAuthenticatedUser(request: IncomingMessage, user: AuthenticatedUser): void {
  users.set(request, user);
}

/** The user the guard verified for `request`, if any. */
export function getAuthenticatedUser(request: IncomingMessage): AuthenticatedUser | undefined {
  return users.get(request);
}
