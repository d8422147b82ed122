import { HttpStatus } from '@nestjs/common';
import { HttpError } from '@zt/service-chassis';
import type { Request } from 'express';

// The route prefix of the file routes. Express matches routes case-insensitively.
const FILE_ROUTE = /^\/me\/files\/(.*)$/i;
// What may travel in a request path as is; the internal client refuses anything else.
const RAW_SEGMENT = /^[\x21-\x7e]+$/;
const MAX_PATH_LENGTH = 1024;
const MAX_SEGMENT_BYTES = 255;

/**
 * The file path of a `/me/files/*path` request exactly as the client percent-encoded it
 * (from the raw request URL, not Express's decoded parameter), to be appended to the
 * filesystem server's `/files/`. Forwarding it still encoded keeps `%2F` a `%2F`: nothing is
 * decoded and re-encoded on the way.
 *
 * The filesystem server judges the path again, but a path that breaks the platform's rules
 * (DESIGN section 6) is refused here first, before anything is charged: a segment that is
 * empty, `.` or `..` (also percent-encoded), that decodes to a `/`, a backslash or a control
 * character, that is not valid percent-encoded UTF-8 of visible ASCII (a raw `#` included),
 * or longer than 255 bytes; or a decoded path longer than 1024 characters.
 * @throws HttpError `400 {"error":"invalid file path"}`.
 */
export function readFilePath(request: Request): string {
  const pathname = request.originalUrl.split('?', 1)[0];
  const encoded = FILE_ROUTE.exec(pathname)?.[1];
  if (encoded === undefined) throw invalidPath();
  const segments = encoded.split('/').map(decodeSegment);
  if ([...segments.join('/')].length > MAX_PATH_LENGTH) throw invalidPath();
  return encoded;
}

function decodeSegment(raw: string): string {
  if (!RAW_SEGMENT.test(raw) || raw.includes('#')) throw invalidPath();
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw invalidPath();
  }
  if (
    decoded === '.' ||
    decoded === '..' ||
    /[/\\\p{Cc}]/u.test(decoded) ||
    Buffer.byteLength(decoded) > MAX_SEGMENT_BYTES
  ) {
    throw invalidPath();
  }
  return decoded;
}

function invalidPath(): HttpError {
  return new HttpError(HttpStatus.BAD_REQUEST, 'invalid file path');
}
