import { Injectable } from '@nestjs/common';
import { InternalHttpClient, type InternalResponse } from '@zt/service-chassis';
import { FILESYSTEM_UPSTREAM } from './upstream.names';

/**
 * The backend's calls to the filesystem server, always for the user named by `X-User-ID`,
 * which the backend sets from the verified token's `sub` (never from anything the client
 * sent). `encodedPath` is the file path exactly as the client percent-encoded it, so the
 * filesystem server sees what the client sent and applies its own path rules.
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
  list(userId: string): Promise<InternalResponse<unknown>> {
    return this.client.request(FILESYSTEM_UPSTREAM, {
      method: 'GET',
      path: '/files',
      headers: { 'X-User-ID': userId },
    });
  }

  /**
   * `PUT /files/<path>` with the bytes, as write `writeId`: the filesystem stores it at most
   * once, replays it to a retry, and refuses it (409 `write aborted`) once resolved as aborted.
   */
  write(
    userId: string,
    encodedPath: string,
    bytes: Buffer,
    writeId: string,
  ): Promise<InternalResponse<unknown>> {
    return this.client.request(FILESYSTEM_UPSTREAM, {
      method: 'PUT',
      path: `/files/${encodedPath}`,
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
  ): Promise<InternalResponse<{ outcome?: unknown; path?: unknown; size?: unknown }>> {
    return this.client.request(FILESYSTEM_UPSTREAM, {
      method: 'POST',
      path: `/writes/${encodeURIComponent(writeId)}/resolve`,
      headers: { 'X-User-ID': userId },
    });
  }

  /** `GET /files/<path>`: the bytes on 200, the error answer's bytes otherwise. */
  read(userId: string, encodedPath: string): Promise<InternalResponse<Buffer>> {
    return this.client.request(FILESYSTEM_UPSTREAM, {
      method: 'GET',
      path: `/files/${encodedPath}`,
      headers: { 'X-User-ID': userId },
      responseType: 'buffer',
    });
  }

  /** `DELETE /files/<path>`. */
  remove(userId: string, encodedPath: string): Promise<InternalResponse<unknown>> {
    return this.client.request(FILESYSTEM_UPSTREAM, {
      method: 'DELETE',
      path: `/files/${encodedPath}`,
      headers: { 'X-User-ID': userId },
    });
  }
}
