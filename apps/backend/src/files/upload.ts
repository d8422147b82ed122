import { HttpStatus } from '@nestjs/common';
import { HttpError } from '@zt/service-chassis';
import type { IncomingMessage } from 'node:http';
import type { UploadReservation } from './upload-budget';

/** The answer to an upload the budget cannot hold now (with `Retry-After: 1`). */
export const UPLOADS_BUSY_MESSAGE = 'too many uploads in progress, retry later';

/**
 * Reads a raw request body into memory, at most `maxBytes` of it, holding its bytes in
 * `reservation` (the caller releases it when the request ends, however it ends).
 *
 * - A larger body is `413 {"error":"file is larger than N bytes"}`: refused from
 *   `Content-Length` before a byte is read when it is declared, and as soon as the limit is
 *   passed otherwise.
 * - A body the upload budget cannot hold is `503 {"error":"too many uploads in progress,
 *   retry later"}`: a declared `Content-Length` is reserved whole before a byte is read; a
 *   chunked body starts only while the budget is not full, and takes its chunks as they come.
 *
 * After either refusal the rest of the body is not read; the connection is closed after the
 * answer.
 */
export async function readUpload(
  request: IncomingMessage,
  maxBytes: number,
  reservation: UploadReservation,
): Promise<Buffer> {
  const header = request.headers['content-length'];
  // Node's parser has already refused a Content-Length that is not a number.
  const declared = header === undefined ? undefined : Number(header);
  // A body that could never be taken is a 413, not a 503 that invites a retry.
  if (declared !== undefined && declared > maxBytes) throw tooLarge(maxBytes);
  if (!reservation.take(declared ?? 0)) throw busy();

  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of request as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) throw tooLarge(maxBytes);
      // Node's parser never lets a body run past its Content-Length: only chunked bodies grow.
      if (declared === undefined && !reservation.take(chunk.length)) throw busy();
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof HttpError) throw error;
    // The client went away or sent a broken body: nothing to charge, nobody to answer.
    throw new HttpError(HttpStatus.BAD_REQUEST, 'incomplete request body');
  }
  return Buffer.concat(chunks, size);
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(HttpStatus.PAYLOAD_TOO_LARGE, `file is larger than ${maxBytes} bytes`);
}

function busy(): HttpError {
  return new HttpError(HttpStatus.SERVICE_UNAVAILABLE, UPLOADS_BUSY_MESSAGE);
}
