import { Body, Controller, Post } from '@nestjs/common';
import { ZodBodyPipe } from '@zt/service-utils';
import { createInviteSchema, type CreateInviteRequest } from '../users/dto/auth.schemas';
import { UsersService } from '../users/users.service';

/** Invites are made by operators and other services only: an internal route (global guard). */
@Controller('invites')
export class InvitesController {
  constructor(private readonly users: UsersService) {}

  @Post()
  create(@Body(new ZodBodyPipe(createInviteSchema)) body: CreateInviteRequest) {
    return this.users.createInvite(body.tier);
  }
}
