import {
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Inject,
  Put,
  Req,
  Res,
  StreamableFile,
  UseInterceptors,
} from '@nestjs/common';
import { backendApi } from '@zt/contracts';
import { ApiEndpoint, HttpError, type ReplyControls } from '@zt/service-chassis';
import { type FrameworkRequest, nodeRequestOf } from '@zt/service-utils';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { CurrentUser } from '../auth/current-user.decorator';
import { readClientIdempotencyKey } from './client-idempotency-key';
import { readFilePath } from './file-path';
import { FilesService } from './files.service';
import { MeteredWriteService, type WriteResult } from './metered-write.service';
import { PerUserConcurrencyInterceptor } from './per-user-concurrency.interceptor';
import { readUpload } from './upload';
import { UploadBudget } from './upload-budget';
import { FILES_OPTIONS, type FilesOptions } from './files.constants';

/**
 * The signed-in user's files (every route needs a user access token: global guard). The
 * user is always the token's `sub`: an `X-User-ID` or `X-INTERNAL-TOKEN` a client sends is
 * never read nor forwarded.
 */
@Controller('me/files')
@UseInterceptors(PerUserConcurrencyInterceptor)
export class FilesController {
  constructor(
    private readonly files: FilesService,
    private readonly writes: MeteredWriteService,
    private readonly budget: UploadBudget,
    @Inject(FILES_OPTIONS) private readonly options: FilesOptions,
  ) {}

  /** `GET /me/files`: `{"files":[{"path","size"}]}`. */
  @Get()
  @ApiEndpoint(backendApi.listOwnFiles)
  list(@CurrentUser() user: AuthenticatedUser): Promise<{ files: unknown }> {
    return this.files.list(user);
  }

  /** `GET /me/files/*path`: the bytes, `application/octet-stream`. */
  @Get('*path')
  @ApiEndpoint(backendApi.readOwnFile)
  async read(
    @CurrentUser() user: AuthenticatedUser,
    @Req() request: FrameworkRequest,
    @Res({ passthrough: true }) response: ReplyControls,
  ): Promise<StreamableFile> {
    const bytes = await this.files.read(user, readFilePath(request));
    response.header('Cache-Control', 'private, no-store');
    response.header('X-Content-Type-Options', 'nosniff');
    return new StreamableFile(bytes, {
      type: 'application/octet-stream',
      length: bytes.length,
      disposition: 'attachment',
    });
  }

  /**
   * `PUT /me/files/*path` with the raw bytes as the body: a metered write (see
   * {@link MeteredWriteService}). 201 created or 200 replaced,
   * `{"path","size","charged","balance"}`. The body's bytes are taken from the
   * {@link UploadBudget} before they are read (503 with `Retry-After: 1` when it cannot hold
   * them) and given back when the request ends.
   */
  @Put('*path')
  @ApiEndpoint(backendApi.writeOwnFile)
  async write(
    @CurrentUser() user: AuthenticatedUser,
    @Req() request: FrameworkRequest,
    @Res({ passthrough: true }) response: ReplyControls,
  ): Promise<WriteResult['body']> {
    const encodedPath = readFilePath(request);
    const clientKey = readClientIdempotencyKey(nodeRequestOf(request));
    const reservation = this.budget.open();
    try {
      let bytes: Buffer;
      try {
        bytes = await readUpload(nodeRequestOf(request), this.options.maxFileBytes, reservation);
      } catch (error) {
        if (error instanceof HttpError) {
          // The rest of a refused body is not worth reading: answer, then hang up.
          response.header('Connection', 'close');
          // readUpload's only 503: the budget is held by other uploads, soon given back.
          if (error.getStatus() === HttpStatus.SERVICE_UNAVAILABLE) {
            response.header('Retry-After', '1');
          }
        }
        throw error;
      }
      const result = await this.writes.write({ user, encodedPath, bytes, clientKey });
      response.status(result.status);
      if (result.replayed) response.header('Idempotent-Replayed', 'true');
      return result.body;
    } finally {
      // However the request ended (written, refused, upstream failure, client gone while
      // reading or while the saga ran), its bytes are no longer held: give them all back.
      reservation.release();
    }
  }

  /** `DELETE /me/files/*path`: 204. */
  @Delete('*path')
  @ApiEndpoint(backendApi.deleteOwnFile)
  @HttpCode(HttpStatus.NO_CONTENT)
  async remove(
    @CurrentUser() user: AuthenticatedUser,
    @Req() request: FrameworkRequest,
  ): Promise<void> {
    await this.files.remove(user, readFilePath(request));
  }
}
