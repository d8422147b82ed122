import { z } from 'zod';
import { defineEndpoint, errorAnswer } from '../endpoint';
import { errorWith } from '../values/error-body';
import { pageLimit } from '../values/page-query';

// The filesystem server's routes (DESIGN section 6; the write journal: docs/metered-writes.md).
// Every route acts for the user named by X-User-ID.

/** A write id (`X-Write-ID`, `/writes/:write_id`): 1-64 letters, digits, `_` or `-`. */
export const WRITE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** A write id in a query string (a repeated parameter is refused). */
export const writeId = z
  .string({ invalid_type_error: 'must be given once' })
  .regex(WRITE_ID_PATTERN, 'must be a write id: 1-64 letters, digits, "_" or "-"');

// Refusals about the request itself, which the backend passes on to its client.
const invalidRequest = errorAnswer(400, 'invalid_request', 'Invalid path, X-User-ID or header');
const tooManyRequests = errorAnswer(429, 'too_many_requests', 'Too many requests of this user');

const FILE_PATH =
  'The file path: 1-1024 characters in segments separated by "/" (no empty, "." or ".." ' +
  'segment, no backslash, no control character; "%2F" is refused), percent-encoded';
const WRITE_REPLAYED = {
  'Write-Replayed': '"true" when this answers a repeat of an applied write (nothing stored now)',
};

/** A stored file: its decoded path and size in bytes. */
export const storedFile = z.object({ path: z.string(), size: z.number() });

export const listFiles = defineEndpoint({
  method: 'GET',
  path: '/files',
  summary: 'Every file of the user, recursively, sorted by path',
  answers: [
    {
      status: 200,
      kind: 'ok',
      body: z.object({ files: z.array(storedFile) }),
      description: 'The files',
    },
    invalidRequest,
    tooManyRequests,
  ],
});

export const writeFile = defineEndpoint({
  method: 'PUT',
  path: '/files/*path',
  summary: 'Stores the raw body byte for byte; journaled under X-Write-ID when given',
  params: { path: FILE_PATH },
  requestType: 'bytes',
  headers: [
    {
      name: 'X-Write-ID',
      description:
        'Journals the outcome under this id (at most once). The same id, path and bytes ' +
        'again: the first answer is replayed (Write-Replayed: true), nothing stored; other ' +
        'path or bytes: 409; an id aborted (POST /writes/{write_id}/resolve): 409',
      pattern: WRITE_ID_PATTERN,
    },
  ],
  answers: [
    {
      status: 201,
      kind: 'created',
      body: storedFile,
      description: 'Created (or its replay)',
      headers: WRITE_REPLAYED,
    },
    {
      status: 200,
      kind: 'replaced',
      body: storedFile,
      description: 'Replaced (or its replay)',
      headers: WRITE_REPLAYED,
    },
    errorAnswer(
      409,
      'write_aborted',
      'This X-Write-ID was resolved as aborted: it can never land',
      errorWith('write aborted'),
    ),
    errorAnswer(409, 'conflict', 'A folder or a file is in the way, or the write id is reused'),
    errorAnswer(413, 'too_large', 'Over the file size, storage or entry quota'),
    errorAnswer(404, 'not_found', 'A folder on the way cannot be used'),
    errorAnswer(507, 'insufficient_storage', 'The disk is full'),
    invalidRequest,
    tooManyRequests,
  ],
});

export const readFile = defineEndpoint({
  method: 'GET',
  path: '/files/*path',
  summary: "A file's bytes",
  params: { path: FILE_PATH },
  answerType: 'bytes',
  answers: [
    {
      status: 200,
      kind: 'ok',
      body: z.instanceof(Buffer),
      description: 'The bytes, application/octet-stream',
    },
    errorAnswer(404, 'not_found', 'No such file'),
    invalidRequest,
    tooManyRequests,
  ],
});

export const deleteFile = defineEndpoint({
  method: 'DELETE',
  path: '/files/*path',
  summary: 'Deletes a file',
  params: { path: FILE_PATH },
  answers: [
    { status: 204, kind: 'deleted', body: z.unknown(), description: 'Deleted' },
    errorAnswer(404, 'not_found', 'No such file'),
    invalidRequest,
    tooManyRequests,
  ],
});

export const resolveWrite = defineEndpoint({
  method: 'POST',
  path: '/writes/:write_id/resolve',
  summary: 'The definitive outcome of a write; a write not stored by now never will be',
  params: { write_id: 'The X-Write-ID of the write' },
  answers: [
    {
      status: 200,
      kind: 'ok',
      body: z.discriminatedUnion('outcome', [
        z.object({
          write_id: z.string(),
          outcome: z.literal('applied'),
          path: z.string(),
          size: z.number(),
        }),
        z.object({ write_id: z.string(), outcome: z.literal('aborted') }),
      ]),
      description: 'applied (with path and size) or aborted',
    },
    invalidRequest,
    tooManyRequests,
  ],
});

/** Most records in one page of `GET /writes`, and the default. */
export const MAX_WRITES_PAGE = 1000;

export const listWrites = defineEndpoint({
  method: 'GET',
  path: '/writes',
  summary: "A page of the user's write journal, sorted by write id",
  query: z
    .object({ after: writeId.optional(), limit: pageLimit(MAX_WRITES_PAGE).optional() })
    .strict(),
  answers: [
    {
      status: 200,
      kind: 'ok',
      body: z.object({
        writes: z.array(
          z.object({
            write_id: z.string(),
            outcome: z.enum(['intent', 'applied', 'aborted']),
            path: z.string().nullable(),
            size: z.number().nullable(),
            sha256: z.string().nullable(),
            at: z.string(),
          }),
        ),
        next_after: z.string().nullable(),
      }),
      description: 'Sorted by write_id; next_after names the next page, null on the last',
    },
    invalidRequest,
  ],
});

/**
 * The scope that lets a caller name the user it acts for (`X-User-ID`) at the filesystem,
 * when the caller proves itself with a service token (DESIGN section 9).
 */
export const ACT_AS_USER_SCOPE = 'files:act-as-user';
