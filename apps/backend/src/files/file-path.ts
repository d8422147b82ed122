import { HttpStatus } from '@nestjs/common';
import { encodedFilePathOf, InvalidFilePathError, parseFilePath } from '@zt/contracts';
import { HttpError } from '@zt/service-chassis';
import { type FrameworkRequest, nodeRequestOf, requestUrlOf } from '@zt/service-utils';

/**
 * The file path of a `/me/files/*path` request exactly as the client percent-encoded it
 * (from the raw request URL, not Express's decoded parameter), to be appended to the
 * filesystem server's `/files/`. Forwarding it still encoded keeps `%2F` a `%2F`: nothing is
 * decoded and re-encoded on the way.
 *
 * The filesystem server judges the path again by the same rules (`parseFilePath`, DESIGN
 * section 6), but a path that breaks them is refused here first, before anything is charged.
 * @throws HttpError `400 {"error":"invalid file path"}`.
 */
export function readFilePath(request: FrameworkRequest): string {
  try {
    const encoded = encodedFilePathOf(requestUrlOf(nodeRequestOf(request)), '/me/files/');
    parseFilePath(encoded);
    return encoded;
  } catch (error) {
    if (error instanceof InvalidFilePathError) {
      throw new HttpError(HttpStatus.BAD_REQUEST, 'invalid file path');
    }
    throw error;
  }
}
