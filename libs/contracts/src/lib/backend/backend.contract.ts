import { z } from 'zod';
import { changePassword } from '../auth/auth.contract';
import { defineEndpoint } from '../endpoint';
import { errorBody, errorWith } from '../values/error-body';
import { tier } from '../values/tier';

// The backend's public API (DESIGN section 8): what end users call, with a user access token.

const FILE_PATH =
  'The file path: 1-1024 characters in segments separated by "/" (no empty, "." or ".." ' +
  'segment, no backslash, no control character; "%2F" is refused). Swagger UI sends "/" as is.';
const tooManyRequests = {
  status: 429,
  kind: 'too_many_requests',
  body: errorBody,
  description: 'Too many file requests of this user at once',
} as const;
const invalidPath = {
  status: 400,
  kind: 'invalid_request',
  body: errorBody,
  description: 'Invalid file path or header',
} as const;
const fileNotFound = {
  status: 404,
  kind: 'not_found',
  body: errorBody,
  description: 'No such file',
} as const;

export const profile = defineEndpoint({
  method: 'GET',
  path: '/me',
  summary: 'Who the token says, with tier and balance from billing',
  answers: [
    {
      status: 200,
      kind: 'ok',
      body: z.object({ user_id: z.string(), email: z.string(), tier, balance: z.number() }),
      description: 'The profile',
    },
    {
      status: 404,
      kind: 'account_not_found',
      body: errorWith('account not found'),
      description: 'No billing account',
    },
  ],
});

export const logout = defineEndpoint({
  method: 'POST',
  path: '/me/logout',
  summary: 'Ends the session of this token',
  answers: [
    {
      status: 204,
      kind: 'signed_out',
      body: z.unknown(),
      description: 'Signed out: this token is refused from now on',
    },
    {
      status: 503,
      kind: 'auth_unavailable',
      body: errorWith('auth unavailable'),
      description: 'Nothing changed',
    },
  ],
});

export const changeOwnPassword = defineEndpoint({
  method: 'POST',
  path: '/me/password',
  summary: 'Changes the password after checking the current one; every session ends',
  body: changePassword.body,
  answers: [
    {
      status: 204,
      kind: 'changed',
      body: z.unknown(),
      description: 'Changed; every token of the user is refused',
    },
    {
      status: 403,
      kind: 'invalid_credentials',
      body: errorWith('invalid credentials'),
      description: 'Wrong current password',
    },
    {
      status: 429,
      kind: 'too_many_attempts',
      body: errorBody,
      description: 'Too many failed attempts',
    },
    {
      status: 400,
      kind: 'invalid_request',
      body: errorBody,
      description: 'Invalid body or a new password under 12 characters',
    },
  ],
});

/** A file as the backend lists it. */
export const listedFile = z.object({ path: z.string(), size: z.number() });

export const listOwnFiles = defineEndpoint({
  method: 'GET',
  path: '/me/files',
  summary: 'Every file of the user, recursively, sorted by path',
  answers: [
    {
      status: 200,
      kind: 'ok',
      body: z.object({ files: z.array(listedFile) }),
      description: 'The files',
    },
    tooManyRequests,
  ],
});

export const readOwnFile = defineEndpoint({
  method: 'GET',
  path: '/me/files/*path',
  summary: "A file's bytes, as stored",
  params: { path: FILE_PATH },
  answerType: 'bytes',
  answers: [
    { status: 200, kind: 'ok', body: z.instanceof(Buffer), description: 'The bytes as stored' },
    fileNotFound,
    invalidPath,
    tooManyRequests,
  ],
});

const meteredWrite = z.object({
  path: z.string(),
  size: z.number(),
  charged: z.number(),
  balance: z.number(),
});
const REPLAYED = {
  'Idempotent-Replayed': '"true" when this answers a retry of a write already made',
};

export const writeOwnFile = defineEndpoint({
  method: 'PUT',
  path: '/me/files/*path',
  summary: 'Stores the raw body, charged FILE_WRITE_PRICE credits exactly once',
  params: { path: FILE_PATH },
  requestType: 'bytes',
  headers: [
    {
      name: 'Idempotency-Key',
      description:
        'Makes a retry safe: the same key completes or replays the write, never charges twice',
    },
  ],
  answers: [
    {
      status: 201,
      kind: 'created',
      body: meteredWrite,
      description: 'Created and charged',
      headers: REPLAYED,
    },
    {
      status: 200,
      kind: 'replaced',
      body: meteredWrite,
      description: 'Replaced and charged (or a replay)',
      headers: REPLAYED,
    },
    {
      status: 402,
      kind: 'insufficient_funds',
      body: errorWith('insufficient funds').extend({ balance: z.number() }),
      description: 'The balance is short: nothing written',
    },
    {
      status: 409,
      kind: 'conflict',
      body: errorBody,
      description: 'A folder or file in the way, or a key already used: nothing charged',
    },
    {
      status: 413,
      kind: 'too_large',
      body: errorBody,
      description: 'Over a size or entry limit: nothing charged',
    },
    {
      status: 422,
      kind: 'key_reused',
      body: errorBody,
      description: 'The Idempotency-Key was used for a different write',
    },
    invalidPath,
    tooManyRequests,
  ],
});

export const deleteOwnFile = defineEndpoint({
  method: 'DELETE',
  path: '/me/files/*path',
  summary: 'Deletes a file',
  params: { path: FILE_PATH },
  answers: [
    { status: 204, kind: 'deleted', body: z.unknown(), description: 'Deleted' },
    fileNotFound,
    invalidPath,
    tooManyRequests,
  ],
});
