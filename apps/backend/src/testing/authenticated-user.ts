import { randomUUID } from 'node:crypto';
import type { AuthenticatedUser } from '../auth/authenticated-user';

/** A signed-in user as the guard would record it: a fresh token id, issued now, 15 minutes left. */
export function signedInUser(userId: string, email: string): AuthenticatedUser {
  const now = Math.floor(Date.now() / 1000);
  return { userId, email, tokenId: randomUUID(), issuedAt: now, expiresAt: now + 900 };
}
