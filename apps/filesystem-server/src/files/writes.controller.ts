import { Controller, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import { ActingUser, Scopes } from '@zt/service-utils';
import { ApiEndpoint, ZodBodyPipe } from '@zt/service-chassis';
import { filesystemApi, type ParsedQuery } from '@zt/contracts';
import { FilesService } from './files.service';
import { checkWriteId } from './write-id';
import type { WriteRecord } from './write-journal';

/** Answer of `POST /writes/:write_id/resolve`. */
export type ResolveAnswer =
  | { write_id: string; outcome: 'applied'; path: string; size: number }
  | { write_id: string; outcome: 'aborted' };

/** One record in `GET /writes`. */
export interface WriteListEntry {
  write_id: string;
  outcome: WriteRecord['outcome'];
  path: string | null;
  size: number | null;
  sha256: string | null;
  at: string;
}

/**
 * The write journal of the user named by `X-User-ID`: the definitive outcome of a write sent
 * with `X-Write-ID`, and the list an operator's checker compares with billing's holds.
 * Internal routes (global guard), like the file routes.
 */
@Controller('writes')
export class WritesController {
  constructor(private readonly files: FilesService) {}

  /**
   * `POST /writes/:write_id/resolve`: `applied` or `aborted`, for certain. An unknown id is
   * recorded as aborted first, so a write with it can never land afterwards.
   */
  @Scopes('files:write')
  @Post(':write_id/resolve')
  @ApiEndpoint(filesystemApi.resolveWrite)
  @HttpCode(HttpStatus.OK)
  async resolve(
    @ActingUser(filesystemApi.ACT_AS_USER_SCOPE) userId: string,
    @Param('write_id') rawWriteId: string,
  ): Promise<ResolveAnswer> {
    const writeId = checkWriteId(rawWriteId, 'write_id');
    const record = await this.files.resolveWrite(userId, writeId);
    switch (record.outcome) {
      case 'applied':
        return { write_id: writeId, outcome: 'applied', path: record.path, size: record.size };
      case 'aborted':
        return { write_id: writeId, outcome: 'aborted' };
    }
  }

  /** `GET /writes`: the user's journal, sorted by write id, a page at a time. */
  @Scopes('files:read')
  @Get()
  @ApiEndpoint(filesystemApi.listWrites)
  async list(
    @ActingUser(filesystemApi.ACT_AS_USER_SCOPE) userId: string,
    @Query(new ZodBodyPipe(filesystemApi.listWrites.query))
    query: ParsedQuery<typeof filesystemApi.listWrites>,
  ): Promise<{ writes: WriteListEntry[]; next_after: string | null }> {
    const page = await this.files.listWrites(
      userId,
      query.after,
      query.limit ?? filesystemApi.MAX_WRITES_PAGE,
    );
    return {
      writes: page.records.map((record) => ({
        write_id: record.write_id,
        outcome: record.outcome,
        path: record.path,
        size: record.size,
        sha256: record.sha256,
        at: record.at,
      })),
      next_after: page.nextAfter,
    };
  }
}
