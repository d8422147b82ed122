import { Injectable } from '@nestjs/common';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { FilesystemClient } from '../upstreams/filesystem.client';
import { relayRefusal } from '../upstreams/upstream-answers';

/**
 * The user's files, read and deleted through the filesystem server for the user the token
 * names. The filesystem's refusals of the request (400, 404, 429) reach the client unchanged.
 */
@Injectable()
export class FilesService {
  constructor(private readonly filesystem: FilesystemClient) {}

  async list(user: AuthenticatedUser): Promise<{ files: Array<{ path: string; size: number }> }> {
    const answer = await this.filesystem.list(user);
    switch (answer.kind) {
      case 'ok':
        return { files: answer.body.files };
      case 'invalid_request':
      case 'too_many_requests':
        throw relayRefusal(answer);
    }
  }

  async read(user: AuthenticatedUser, encodedPath: string): Promise<Buffer> {
    const answer = await this.filesystem.read(user, encodedPath);
    switch (answer.kind) {
      case 'ok':
        return answer.body;
      case 'not_found':
      case 'invalid_request':
      case 'too_many_requests':
        throw relayRefusal(answer);
    }
  }

  async remove(user: AuthenticatedUser, encodedPath: string): Promise<void> {
    const answer = await this.filesystem.remove(user, encodedPath);
    switch (answer.kind) {
      case 'deleted':
        return;
      case 'not_found':
      case 'invalid_request':
      case 'too_many_requests':
        throw relayRefusal(answer);
    }
  }
}
