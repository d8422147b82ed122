import {
  Controller,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
} from '@nestjs/common';
import { ApiEndpoint, JsonBody, ZodBodyPipe } from '@zt/service-chassis';
import { authApi, type ParsedBody, type ParsedQuery } from '@zt/contracts';
import { UsersRepository } from '../users/users.repository';
import { UsersService } from '../users/users.service';
import { Scopes } from '@zt/service-utils';

/**
 * Ending sessions. Internal routes (global guard): the backend calls them for its users'
 * `POST /me/logout` and `POST /me/password`, and reads the feed to refuse revoked tokens.
 */
@Controller()
export class SessionsController {
  constructor(
    private readonly users: UsersService,
    private readonly repository: UsersRepository,
  ) {}

  @Scopes('auth:sessions.write')
  @Post('users/:user_id/password')
  @ApiEndpoint(authApi.changePassword)
  @HttpCode(HttpStatus.NO_CONTENT)
  async changePassword(
    @Param('user_id', new ParseUUIDPipe({ errorHttpStatusCode: HttpStatus.BAD_REQUEST }))
    userId: string,
    @JsonBody(authApi.changePassword.body)
    body: ParsedBody<typeof authApi.changePassword>,
  ): Promise<void> {
    await this.users.changePassword(userId, body);
  }

  @Scopes('auth:sessions.write')
  @Post('revocations')
  @ApiEndpoint(authApi.revokeToken)
  @HttpCode(HttpStatus.NO_CONTENT)
  async revoke(
    @JsonBody(authApi.revokeToken.body) body: ParsedBody<typeof authApi.revokeToken>,
  ): Promise<void> {
    await this.users.revokeToken(body);
  }

  @Scopes('auth:sessions.read')
  @Get('revocations')
  @ApiEndpoint(authApi.listRevocations)
  async feed(
    @Query(new ZodBodyPipe(authApi.listRevocations.query))
    query: ParsedQuery<typeof authApi.listRevocations>,
  ): Promise<Record<string, unknown>> {
    const limit = query.limit ?? authApi.MAX_REVOCATIONS_PAGE;
    const rows = await this.repository.listRevocations(query.after ?? 0n, limit);
    return {
      revocations: rows.map((row) => ({
        seq: row.seq.toString(),
        user_id: row.userId,
        jti: row.jti,
        not_before: row.notBefore,
        expires_at: Math.floor(row.expiresAt.getTime() / 1000),
      })),
      next_after: rows.length === limit ? rows[rows.length - 1].seq.toString() : null,
    };
  }
}
