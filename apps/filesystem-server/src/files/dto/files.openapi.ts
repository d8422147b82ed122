import type {
  ApiHeaderOptions,
  ApiParamOptions,
  HeadersObject,
  SchemaObject,
} from '@nestjs/swagger';

// OpenAPI descriptions of the file and write routes (the controllers read the raw URL, body
// and headers, which @nestjs/swagger cannot see). The code stays the rule; these say it to readers.

const WRITE_ID_SCHEMA: SchemaObject = {
  type: 'string',
  pattern: '^[A-Za-z0-9_-]{1,64}$',
  example: 'w_7f3c2a9e',
};

/** The `{path}` of `/files/{path}`: every segment, `/` included, as the route takes it. */
export const FILE_PATH_PARAM: ApiParamOptions = {
  name: 'path',
  required: true,
  description:
    'The file path: 1-1024 characters in segments separated by "/" (no empty, "." or ".." ' +
    'segment, no backslash, no control character; "%2F" is refused).',
  example: 'notes/hello.txt',
  schema: { type: 'string' },
};

/** The `X-Write-ID` header of `PUT /files/{path}`. */
export const WRITE_ID_HEADER_DOC: ApiHeaderOptions = {
  name: 'X-Write-ID',
  required: false,
  description:
    'Journals the outcome under this id (at most once). The same id, path and bytes again: ' +
    'the first answer is replayed (Write-Replayed: true), nothing stored; other path or ' +
    'bytes: 409; an id aborted (POST /writes/{write_id}/resolve): 409',
  schema: WRITE_ID_SCHEMA,
};

/** The answer headers of `PUT /files/{path}`. */
export const WRITE_ANSWER_HEADERS: HeadersObject = {
  'Write-Replayed': {
    description: '"true" when this answers a repeat of an applied write (nothing stored now)',
    schema: { type: 'string', enum: ['true'] },
  },
};

/** The `{write_id}` of `/writes/{write_id}/resolve`. */
export const WRITE_ID_PARAM: ApiParamOptions = {
  name: 'write_id',
  required: true,
  description: 'The X-Write-ID of the write',
  schema: WRITE_ID_SCHEMA,
};

/** The raw bytes of a file. */
export const FILE_BYTES: SchemaObject = { type: 'string', format: 'binary' };

/** Answer of a stored (or replayed) write. */
export const WRITE_ANSWER: SchemaObject = {
  type: 'object',
  required: ['path', 'size'],
  properties: {
    path: { type: 'string', example: 'notes/hello.txt' },
    size: { type: 'integer', description: 'Bytes stored' },
  },
};

/** Answer of `POST /writes/{write_id}/resolve`. */
export const RESOLVE_ANSWER: SchemaObject = {
  type: 'object',
  required: ['write_id', 'outcome'],
  properties: {
    write_id: WRITE_ID_SCHEMA,
    outcome: { type: 'string', enum: ['applied', 'aborted'] },
    path: { type: 'string', description: 'Only when applied' },
    size: { type: 'integer', description: 'Only when applied: bytes stored' },
  },
};

/** Answer of `GET /writes`. */
export const WRITES_PAGE: SchemaObject = {
  type: 'object',
  required: ['writes', 'next_after'],
  properties: {
    writes: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          write_id: WRITE_ID_SCHEMA,
          outcome: { type: 'string', enum: ['intent', 'applied', 'aborted'] },
          path: { type: 'string', nullable: true },
          size: { type: 'integer', nullable: true },
          sha256: { type: 'string', nullable: true, description: 'Of the bytes, lowercase hex' },
          at: { type: 'string', format: 'date-time', description: 'When it reached its outcome' },
        },
      },
    },
    next_after: {
      type: 'string',
      nullable: true,
      description: 'The after of the next page, or null on the last page',
    },
  },
};
