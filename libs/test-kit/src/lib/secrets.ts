import { randomBytes } from 'node:crypto';

/** A fresh strong internal token, as `npm start` generates one. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}
