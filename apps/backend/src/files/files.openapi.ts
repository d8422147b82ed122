import type { ApiParamOptions, SchemaObject } from '@nestjs/swagger';

// OpenAPI descriptions of the file routes (the controller reads the raw URL and body, which
// @nestjs/swagger cannot see). The controller stays the rule; these say it to readers.

/** The `{path}` of `/me/files/{path}`: every segment, `/` included, as the route takes it. */
export const FILE_PATH_PARAM: ApiParamOptions = {
  name: 'path',
  required: true,
  description:
    'The file path: 1-1024 characters in segments separated by "/" (no empty, "." or ".." ' +
    'segment, no backslash, no control character; "%2F" is refused). Swagger UI sends "/" as is.',
  example: 'notes/hello.txt',
  schema: { type: 'string' },
};

/** Answer of a stored write. */
export const WRITE_ANSWER: SchemaObject = {
  type: 'object',
  properties: {
    path: { type: 'string', example: 'notes/hello.txt' },
    size: { type: 'integer', description: 'Bytes stored' },
    charged: { type: 'number', description: 'Credits charged for this write (FILE_WRITE_PRICE)' },
    balance: { type: 'number', description: 'Credits left after it' },
  },
};

/** The raw bytes of a file, as uploaded or read. */
export const FILE_BYTES: SchemaObject = { type: 'string', format: 'binary' };
