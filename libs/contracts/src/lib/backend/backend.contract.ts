import { z } from 'zod';
import { changePassword } from '../auth/auth.contract';
import { defineEndpoint, errorAnswer } from '../endpoint';
import { errorWith } from '../values/error-body';
import { tier } from '../values/tier';

// The backend's public API (DESIGN section 8): what end users call, with a user access token.

const FILE_PATH =
  'The file path: 1-1024 characters in segments separated by "/" (no empty, "." or ".." ' +
  'segment, no backslash, no control character; "%2F" is refused). Swagger UI sends "/" as is.';
const tooManyRequests = errorAnswer(
  429,
  'too_many_requests',
  'Too many file requests of this user at once',
);
const invalidPath = errorAnswer(400, 'invalid_request', 'Invalid file path or header');
const fileNotFound = errorAnswer(404, 'not_found', 'No such file');

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
    errorAnswer(404, 'account_not_found', 'No billing account', errorWith('account not found')),
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
    errorAnswer(503, 'auth_unavailable', 'Nothing changed', errorWith('auth unavailable')),
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
    errorAnswer(
      403,
      'invalid_credentials',
      'Wrong current password',
      errorWith('invalid credentials'),
    ),
    errorAnswer(429, 'too_many_attempts', 'Too many failed attempts'),
    errorAnswer(400, 'invalid_request', 'Invalid body or a new password under 12 characters'),
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
    errorAnswer(
      409,
      'conflict',
      'A folder or file in the way, or a key already used: nothing charged',
    ),
    errorAnswer(413, 'too_large', 'Over a size or entry limit: nothing charged'),
    errorAnswer(422, 'key_reused', 'The Idempotency-Key was used for a different write'),
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
