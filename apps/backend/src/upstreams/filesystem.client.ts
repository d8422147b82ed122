import { Injectable } from '@nestjs/common';
import { filesystemApi } from '@zt/contracts';
import { type CallOutcome, InternalHttpClient } from '@zt/service-chassis';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { FILESYSTEM_UPSTREAM } from './upstream.names';
import { UserAssertions } from './user-assertions';

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
  constructor(
    private readonly client: InternalHttpClient,
    private readonly proofs: UserAssertions,
  ) {}

  /** True while the filesystem's breaker is open: a call now would fail at once. */
  knownDown(): boolean {
    return this.client.breakerState(FILESYSTEM_UPSTREAM) === 'open';
  }

  /** `GET /files`: every file of the user. */
  async list(user: AuthenticatedUser): Promise<CallOutcome<typeof filesystemApi.listFiles>> {
    return this.client.call(FILESYSTEM_UPSTREAM, filesystemApi.listFiles, {
      headers: await this.actingFor(user),
    });
  }

  /**
   * `PUT /files/<path>` with the bytes, as write `writeId`: the filesystem stores it at most
   * once, replays it to a retry, and refuses it (`write_aborted`) once resolved as aborted.
   */
  async write(
    user: AuthenticatedUser,
    encodedPath: string,
    bytes: Buffer,
    writeId: string,
  ): Promise<CallOutcome<typeof filesystemApi.writeFile>> {
    return this.client.call(FILESYSTEM_UPSTREAM, filesystemApi.writeFile, {
      params: { path: encodedPath },
      body: bytes,
      headers: {
        ...(await this.actingFor(user)),
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
  async read(
    user: AuthenticatedUser,
    encodedPath: string,
  ): Promise<CallOutcome<typeof filesystemApi.readFile>> {
    return this.client.call(FILESYSTEM_UPSTREAM, filesystemApi.readFile, {
      params: { path: encodedPath },
      headers: await this.actingFor(user),
    });
  }

  /** `DELETE /files/<path>`. */
  async remove(
    user: AuthenticatedUser,
    encodedPath: string,
  ): Promise<CallOutcome<typeof filesystemApi.deleteFile>> {
    return this.client.call(FILESYSTEM_UPSTREAM, filesystemApi.deleteFile, {
      params: { path: encodedPath },
      headers: await this.actingFor(user),
    });
  }

  /** `X-User-ID`, and the user's own proof when the backend sends it. */
  private async actingFor(user: AuthenticatedUser): Promise<Record<string, string>> {
    return {
      'X-User-ID': user.userId,
      ...(await this.proofs.headersFor(user, 'filesystem-server')),
    };
  }
}
