import { HttpStatus } from '@nestjs/common';
import { filesystemApi } from '@zt/contracts';
import { readSingleHeader } from '@zt/service-utils';
import { HttpError } from '@zt/service-chassis';
import type { IncomingMessage } from 'node:http';

// A write id is also a safe file name in the journal: 1-64 letters, digits, `_` or `-`.
const { WRITE_ID_PATTERN } = filesystemApi;

/** The header through which a caller names a journaled write. */
export const WRITE_ID_HEADER = 'X-Write-ID';

/** The answer header that marks a repeated write answered from the journal. */
export const WRITE_REPLAYED_HEADER = 'Write-Replayed';

/**
 * The request's `X-Write-ID`, or `undefined` when it sent none (an unjournaled write).
 * @throws HttpError 400 for a repeated or malformed id: the caller asked for a journaled
 *   write, so it is refused rather than done without the journal.
 */
export function readWriteIdHeader(request: IncomingMessage): string | undefined {
  const header = readSingleHeader(request, WRITE_ID_HEADER);
  if (header.kind === 'absent') return undefined;
  if (header.kind === 'repeated') {
    throw new HttpError(HttpStatus.BAD_REQUEST, `${WRITE_ID_HEADER} must appear once`);
  }
  return checkWriteId(header.value, WRITE_ID_HEADER);
}

/**
 * `value` when it is a valid write id.
 * @throws HttpError 400 naming `source` (a header or parameter) otherwise.
 */
export function checkWriteId(value: string, source: string): string {
  if (!WRITE_ID_PATTERN.test(value)) {
    throw new HttpError(
      HttpStatus.BAD_REQUEST,
      `${source} must be 1-64 letters, digits, "_" or "-"`,
    );
  }
  return value;
}
