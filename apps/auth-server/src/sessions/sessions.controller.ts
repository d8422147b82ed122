import {
  Body,
  Controller,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
} from '@nestjs/common';
import { ApiBody, ApiResponse } from '@nestjs/swagger';
import { ZodBodyPipe } from '@zt/service-chassis';
import { authApi, type ParsedBody, type ParsedQuery } from '@zt/contracts';
import { UsersRepository } from '../users/users.repository';
import { UsersService } from '../users/users.service';

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

  @Post('users/:user_id/password')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiBody({
    schema: {
      type: 'object',
      additionalProperties: false,
      required: ['current_password', 'new_password'],
      properties: {
        current_password: { type: 'string' },
        new_password: { type: 'string', minLength: 12, maxLength: 1024 },
      },
    },
  })
  @ApiResponse({ status: 204, description: 'Changed; every token issued before is revoked' })
  @ApiResponse({ status: 400, description: 'Invalid body or a new password under 12 characters' })
  @ApiResponse({ status: 401, description: '{"error":"invalid credentials"}' })
  @ApiResponse({ status: 429, description: 'Too many failed attempts' })
  async changePassword(
    @Param('user_id', new ParseUUIDPipe({ errorHttpStatusCode: HttpStatus.BAD_REQUEST }))
    userId: string,
    @Body(new ZodBodyPipe(authApi.changePassword.body))
    body: ParsedBody<typeof authApi.changePassword>,
  ): Promise<void> {
    await this.users.changePassword(userId, body);
  }

  @Post('revocations')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiBody({
    schema: {
      type: 'object',
      additionalProperties: false,
      required: ['user_id', 'jti', 'expires_at'],
      properties: {
        user_id: { type: 'string', format: 'uuid' },
        jti: { type: 'string', format: 'uuid' },
        expires_at: { type: 'integer', description: "The token's exp (unix seconds)" },
      },
    },
  })
  @ApiResponse({ status: 204, description: 'Revoked (also when it already was)' })
  @ApiResponse({ status: 404, description: '{"error":"user not found"}' })
  async revoke(
    @Body(new ZodBodyPipe(authApi.revokeToken.body)) body: ParsedBody<typeof authApi.revokeToken>,
  ): Promise<void> {
    await this.users.revokeToken(body);
  }

  @Get('revocations')
  @ApiResponse({
    status: 200,
    description:
      '{"revocations":[{"seq","user_id","jti","not_before","expires_at"}],"next_after"}: ' +
      'those after `after` whose tokens have not expired, in the order they were made',
  })
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
