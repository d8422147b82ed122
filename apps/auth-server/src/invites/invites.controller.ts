import { Body, Controller, Post } from '@nestjs/common';
import { ApiBody, ApiResponse } from '@nestjs/swagger';
import { ZodBodyPipe } from '@zt/service-chassis';
import { CREATE_INVITE_BODY } from '../users/dto/auth.openapi';
import { authApi, type ParsedBody } from '@zt/contracts';
import { UsersService } from '../users/users.service';

/** Invites are made by operators and other services only: an internal route (global guard). */
@Controller('invites')
export class InvitesController {
  constructor(private readonly users: UsersService) {}

  @Post()
  @ApiBody({ schema: CREATE_INVITE_BODY })
  @ApiResponse({ status: 201, description: '{"invite_code","tier"}: single use, shown once' })
  @ApiResponse({ status: 400, description: 'Unknown tier' })
  create(
    @Body(new ZodBodyPipe(authApi.createInvite.body)) body: ParsedBody<typeof authApi.createInvite>,
  ) {
    return this.users.createInvite(body.tier);
  }
}
