/**
 * A file path in a request URL is not acceptable (empty or `.`/`..` segment, backslash,
 * control character, encoded slash, malformed escape, too long). Answered with 400; the
 * message names the problem and never echoes the path.
 */
export class InvalidFilePathError extends Error {
  /** Stable machine code, in the style of jose's `ERR_*` codes. */
  readonly code = 'ERR_INVALID_FILE_PATH';

  constructor(message: string) {
    super(message);
    this.name = 'InvalidFilePathError';
  }
}
