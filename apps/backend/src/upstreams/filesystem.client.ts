import { Injectable } from '@nestjs/common';
import { InternalHttpClient, type InternalResponse } from '@zt/service-utils';
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

  /** `GET /files`: every file of the user. */
  list(userId: string): Promise<InternalResponse<unknown>> {
    return this.client.request(FILESYSTEM_UPSTREAM, {
      method: 'GET',
      path: '/files',
      headers: { 'X-User-ID': userId },
    });
  }

  /** `PUT /files/<path>` with the bytes. */
  write(userId: string, encodedPath: string, bytes: Buffer): Promise<InternalResponse<unknown>> {
    return this.client.request(FILESYSTEM_UPSTREAM, {
      method: 'PUT',
      path: `/files/${encodedPath}`,
      body: bytes,
      headers: { 'X-User-ID': userId, 'Content-Type': 'application/octet-stream' },
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
