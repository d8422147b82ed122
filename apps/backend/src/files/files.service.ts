import { Injectable } from '@nestjs/common';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { FilesystemClient } from '../upstreams/filesystem.client';
import { relayUpstreamError } from '../upstreams/upstream-answers';
import { FILESYSTEM_UPSTREAM } from '../upstreams/upstream.names';

/**
 * The user's files, read and deleted through the filesystem server for the user the token
 * names. The filesystem's 400 and 404 (and other answers about the request) reach the client
 * unchanged; see `relayUpstreamError`.
 */
@Injectable()
export class FilesService {
  constructor(private readonly filesystem: FilesystemClient) {}

  async list(user: AuthenticatedUser): Promise<{ files: unknown }> {
    const answer = await this.filesystem.list(user.userId);
    if (answer.status !== 200) throw relayUpstreamError(FILESYSTEM_UPSTREAM, 'GET /files', answer);
    return { files: (answer.data as { files?: unknown } | undefined)?.files ?? [] };
  }

  async read(user: AuthenticatedUser, encodedPath: string): Promise<Buffer> {
    const answer = await this.filesystem.read(user.userId, encodedPath);
    if (answer.status !== 200) {
      throw relayUpstreamError(FILESYSTEM_UPSTREAM, 'GET /files/*path', answer);
    }
    return answer.data;
  }

  async remove(user: AuthenticatedUser, encodedPath: string): Promise<void> {
    const answer = await this.filesystem.remove(user.userId, encodedPath);
    if (answer.status !== 204 && answer.status !== 200) {
      throw relayUpstreamError(FILESYSTEM_UPSTREAM, 'DELETE /files/*path', answer);
    }
  }
}
