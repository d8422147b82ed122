import {
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  HttpStatus,
  Put,
  Req,
  Res,
  StreamableFile,
} from '@nestjs/common';
import {
  ActingUser,
  ActsForUser,
  type FrameworkRequest,
  type FrameworkResponse,
  nodeRequestOf,
  nodeResponseOf,
  requestUrlOf,
  Scopes,
} from '@zt/service-utils';
import { ApiEndpoint, HttpError, type ReplyControls } from '@zt/service-chassis';
import {
  encodedFilePathOf,
  filesystemApi,
  type FilePath,
  InvalidFilePathError,
  parseFilePath,
} from '@zt/contracts';
import { type FileEntry, FilesService } from './files.service';
import { readWriteIdHeader, WRITE_REPLAYED_HEADER } from './write-id';
import type { IncomingMessage } from 'node:http';

/**
 * Per-user files. Every route is internal (global guard) and acts for the user named by
 * `X-User-ID`; with `USER_PROOF=required`, only with that user's own proof (`@ActsForUser`).
 * The file path is parsed from the raw request URL, never from Express's decoded
 * parameter, so that `%2F`, `%2e%2e` and the like are judged as sent.
 */
@ActsForUser({ header: 'X-User-ID' })
@Controller('files')
export class FilesController {
  constructor(private readonly files: FilesService) {}

  /** `GET /files`: every file of the user, recursively, sorted by path. */
  @Scopes('files:read')
  @Get()
  @ApiEndpoint(filesystemApi.listFiles)
  async list(
    @ActingUser(filesystemApi.ACT_AS_USER_SCOPE) userId: string,
    @Res({ passthrough: true }) reply: FrameworkResponse,
  ): Promise<{ files: FileEntry[] }> {
    const response = nodeResponseOf(reply);
    // The caller hung up (its deadline passed) before the answer: stop walking for nobody.
    const gone = new AbortController();
    const onClose = () => {
      if (!response.writableFinished) gone.abort();
    };
    response.once('close', onClose);
    try {
      return { files: await this.files.list(userId, gone.signal) };
    } catch (error) {
      // Nobody reads this answer; the request line says what happened (408), no stack.
      if (gone.signal.aborted) {
        throw new HttpError(HttpStatus.REQUEST_TIMEOUT, 'the caller went away before the listing');
      }
      throw error;
    } finally {
      response.off('close', onClose);
    }
  }

  /**
   * `PUT /files/*path`: stores the raw body; 201 when created, 200 when replaced. With
   * `X-Write-ID` the outcome is journaled (see `POST /writes/:write_id/resolve`), and a
   * repeat of an applied write gets the same answer with `Write-Replayed: true`.
   */
  @Scopes('files:write')
  @Put('*path')
  @ApiEndpoint(filesystemApi.writeFile)
  async write(
    @ActingUser(filesystemApi.ACT_AS_USER_SCOPE) userId: string,
    @Req() framework: FrameworkRequest,
    @Res({ passthrough: true }) response: ReplyControls,
  ): Promise<{ path: string; size: number }> {
    // A refusal before the whole body is read closes the connection (HttpErrorFilter).
    const request = nodeRequestOf(framework);
    const path = filePathOf(request);
    const writeId = readWriteIdHeader(request);
    const result = await this.files.write(userId, path, request, declaredLength(request), writeId);
    response.status(result.created ? HttpStatus.CREATED : HttpStatus.OK);
    if (result.replayed) response.header(WRITE_REPLAYED_HEADER, 'true');
    return { path: path.path, size: result.size };
  }

  /** `GET /files/*path`: the file's bytes, as `application/octet-stream`. */
  @Scopes('files:read')
  @Get('*path')
  @ApiEndpoint(filesystemApi.readFile)
  @Header('X-Content-Type-Options', 'nosniff')
  async read(
    @ActingUser(filesystemApi.ACT_AS_USER_SCOPE) userId: string,
    @Req() request: FrameworkRequest,
  ): Promise<StreamableFile> {
    const file = await this.files.open(userId, filePathOf(nodeRequestOf(request)));
    // Streamed by the HTTP adapter, Express or Fastify alike.
    return new StreamableFile(file.stream, {
      type: 'application/octet-stream',
      length: file.size,
    });
  }

  /** `DELETE /files/*path`: 204; folders left empty are removed too. */
  @Scopes('files:write')
  @Delete('*path')
  @ApiEndpoint(filesystemApi.deleteFile)
  @HttpCode(HttpStatus.NO_CONTENT)
  async remove(
    @ActingUser(filesystemApi.ACT_AS_USER_SCOPE) userId: string,
    @Req() request: FrameworkRequest,
  ): Promise<void> {
    await this.files.remove(userId, filePathOf(nodeRequestOf(request)));
  }
}

function filePathOf(request: IncomingMessage): FilePath {
  try {
    return parseFilePath(encodedFilePathOf(requestUrlOf(request)));
  } catch (error) {
    if (error instanceof InvalidFilePathError) {
      throw new HttpError(HttpStatus.BAD_REQUEST, error.message);
    }
    throw error;
  }
}

/** The declared body size, or undefined for a chunked upload (Node has validated the header). */
function declaredLength(request: IncomingMessage): number | undefined {
  const header = request.headers['content-length'];
  return header === undefined ? undefined : Number(header);
}
