import { HttpStatus } from '@nestjs/common';
import { HttpError } from '@zt/service-utils';
import type { IncomingMessage } from 'node:http';

/**
 * Reads a raw request body into memory, at most `maxBytes` of it. A larger body is
 * `413 {"error":"file is larger than N bytes"}`: refused from `Content-Length` before a byte
 * is read when it is declared, and as soon as the limit is passed otherwise. The rest of the
 * body is not read; the connection is closed after the answer.
 */
export async function readUpload(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = request.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge(maxBytes);

  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of request as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) throw tooLarge(maxBytes);
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
