import { InvalidFilePathError } from './invalid-file-path.error';

/** Longest accepted file path, in characters (Unicode code points) of the decoded path. */
export const MAX_FILE_PATH_LENGTH = 1024;

/** Longest accepted segment in UTF-8 bytes: the file name limit of common Linux filesystems. */
export const MAX_SEGMENT_BYTES = 255;

/** A validated file path, relative to a user's folder. */
export interface FilePath {
  /** The decoded path, segments joined by `/`: how answers and listings name the file. */
  readonly path: string;
  /** The decoded segments; none is empty, `.`, `..`, or holds a `/`, `\` or control character. */
  readonly segments: readonly string[];
}

/**
 * Takes the still percent-encoded file path out of a raw request URL (`request.originalUrl`,
 * before Express decodes anything): the part after `prefix`, without the query string.
 * `/files/a%20b/c.txt?x=1` gives `a%20b/c.txt`.
 * @throws InvalidFilePathError when the URL does not start with `prefix` as written (e.g. an
 *   encoded prefix that the router decoded).
 */
export function encodedFilePathOf(url: string, prefix = '/files/'): string {
  const queryAt = url.indexOf('?');
  const pathname = queryAt === -1 ? url : url.slice(0, queryAt);
  // Express matches routes case-insensitively; accept the prefix in any case, as it does.
  if (pathname.slice(0, prefix.length).toLowerCase() !== prefix) {
    throw new InvalidFilePathError(`file path must follow ${prefix}`);
  }
  return pathname.slice(prefix.length);
}

/**
 * Parses and validates a percent-encoded file path, segment by segment: each segment is split
 * on the literal `/` first and decoded afterwards, so an encoded slash (`%2F`) can never make
 * a new segment, and `%2e%2e` is recognised as `..`.
 *
 * Refused: an empty path, a leading `/` (absolute), an empty segment (`a//b`, a trailing
 * slash), a `.` or `..` segment (also encoded), an encoded slash, a backslash (also encoded),
 * a NUL or any other control character (C0, DEL, C1), a malformed escape or one that is not
 * UTF-8, a raw `#` or a raw character outside visible ASCII, a segment over
 * {@link MAX_SEGMENT_BYTES} UTF-8 bytes, and a decoded path over {@link MAX_FILE_PATH_LENGTH}
 * characters. Any other Unicode name is allowed.
 * @throws InvalidFilePathError naming the problem.
 */
export function parseFilePath(encoded: string): FilePath {
  if (encoded === '') throw new InvalidFilePathError('file path is empty');
  if (encoded.startsWith('/')) throw new InvalidFilePathError('file path must not be absolute');
  const segments = encoded.split('/').map(decodeSegment);
  const path = segments.join('/');
  if ([...path].length > MAX_FILE_PATH_LENGTH) {
    throw new InvalidFilePathError(`file path is longer than ${MAX_FILE_PATH_LENGTH} characters`);
  }
  return { path, segments };
}

/**
 * Validates a name read from disk as one segment (for listings): true when a request could
 * name it, so that every listed path can also be read and deleted.
 */
export function isValidSegment(name: string): boolean {
  return (
    name !== '' &&
    name !== '.' &&
    name !== '..' &&
    !/[/\\\p{Cc}]/u.test(name) &&
    Buffer.byteLength(name) <= MAX_SEGMENT_BYTES
  );
}

function decodeSegment(raw: string): string {
  if (raw === '') throw new InvalidFilePathError('file path has an empty segment');
  // Node's HTTP parser already refuses raw control and non-ASCII bytes; this keeps the rule
  // independent of it. A raw `#` would be read as a fragment by other parsers: refuse it.
  if (/[^\x21-\x7e]|#/.test(raw)) {
    throw new InvalidFilePathError('file path has a character that must be percent-encoded');
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw new InvalidFilePathError('file path has a malformed percent-encoding');
  }
  if (decoded.includes('/')) {
    throw new InvalidFilePathError('file path has an encoded slash (%2F) inside a segment');
  }
  if (decoded.includes('\\')) throw new InvalidFilePathError('file path has a backslash');
  if (/\p{Cc}/u.test(decoded)) {
    throw new InvalidFilePathError('file path has a control character');
  }
  if (decoded === '.' || decoded === '..') {
    throw new InvalidFilePathError('file path has a "." or ".." segment');
  }
  if (Buffer.byteLength(decoded) > MAX_SEGMENT_BYTES) {
    throw new InvalidFilePathError(
      `file path has a segment longer than ${MAX_SEGMENT_BYTES} bytes`,
    );
  }
  return decoded;
}
