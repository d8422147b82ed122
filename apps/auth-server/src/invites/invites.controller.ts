import { Controller, Post } from '@nestjs/common';
import { ApiEndpoint, JsonBody } from '@zt/service-chassis';
import { authApi, type ParsedBody } from '@zt/contracts';
import { UsersService } from '../users/users.service';
import { Scopes } from '@zt/service-utils';

/** Invites are made by operators and other services only: an internal route (global guard). */
@Controller('invites')
export class InvitesController {
  constructor(private readonly users: UsersService) {}

  @Scopes('auth:invites.write')
  @Post()
  @ApiEndpoint(authApi.createInvite)
  create(@JsonBody(authApi.createInvite.body) body: ParsedBody<typeof authApi.createInvite>) {
    return this.users.createInvite(body.tier);
  }
}
