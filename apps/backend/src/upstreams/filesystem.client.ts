import { Injectable } from '@nestjs/common';
import { filesystemApi } from '@zt/contracts';
import { type CallOutcome, InternalHttpClient } from '@zt/service-chassis';
import { FILESYSTEM_UPSTREAM } from './upstream.names';

/**
 * The backend's calls to the filesystem server, always for the user named by `X-User-ID`,
 * which the backend sets from the verified token's `sub` (never from anything the client
 * sent). `encodedPath` is the file path exactly as the client percent-encoded it, so the
 * filesystem server sees what the client sent and applies its own path rules. Each answer is
 * read into its outcome by the filesystem's contract (`@zt/contracts`).
 * An unreachable filesystem surfaces as `UpstreamUnavailableError` (503 `filesystem unavailable`).
 */
@Injectable()
export class FilesystemClient {
  constructor(private readonly client: InternalHttpClient) {}

  /** True while the filesystem's breaker is open: a call now would fail at once. */
  knownDown(): boolean {
    return this.client.breakerState(FILESYSTEM_UPSTREAM) === 'open';
  }

  /** `GET /files`: every file of the user. */
  list(userId: string): Promise<CallOutcome<typeof filesystemApi.listFiles>> {
    return this.client.call(FILESYSTEM_UPSTREAM, filesystemApi.listFiles, {
      headers: { 'X-User-ID': userId },
    });
  }

  /**
   * `PUT /files/<path>` with the bytes, as write `writeId`: the filesystem stores it at most
   * once, replays it to a retry, and refuses it (`write_aborted`) once resolved as aborted.
   */
  write(
    userId: string,
    encodedPath: string,
    bytes: Buffer,
    writeId: string,
  ): Promise<CallOutcome<typeof filesystemApi.writeFile>> {
    return this.client.call(FILESYSTEM_UPSTREAM, filesystemApi.writeFile, {
      params: { path: encodedPath },
      body: bytes,
      headers: {
        'X-User-ID': userId,
        'X-Write-ID': writeId,
        'Content-Type': 'application/octet-stream',
      },
    });
  }

  /**
   * `POST /writes/<id>/resolve`: the definitive outcome of write `writeId`, `applied` or
   * `aborted`; a write not stored by now is aborted for good by this very call.
   */
  resolveWrite(
    userId: string,
    writeId: string,
  ): Promise<CallOutcome<typeof filesystemApi.resolveWrite>> {
    return this.client.call(FILESYSTEM_UPSTREAM, filesystemApi.resolveWrite, {
      params: { write_id: writeId },
      headers: { 'X-User-ID': userId },
    });
  }

  /** `GET /files/<path>`: the bytes. */
  read(userId: string, encodedPath: string): Promise<CallOutcome<typeof filesystemApi.readFile>> {
    return this.client.call(FILESYSTEM_UPSTREAM, filesystemApi.readFile, {
      params: { path: encodedPath },
      headers: { 'X-User-ID': userId },
    });
  }

  /** `DELETE /files/<path>`. */
  remove(
    userId: string,
    encodedPath: string,
  ): Promise<CallOutcome<typeof filesystemApi.deleteFile>> {
    return this.client.call(FILESYSTEM_UPSTREAM, filesystemApi.deleteFile, {
      params: { path: encodedPath },
      headers: { 'X-User-ID': userId },
    });
  }
}
