import { Body, Controller, Get, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiBody, ApiResponse } from '@nestjs/swagger';
import { ZodBodyPipe } from '@zt/service-chassis';
import { authApi, type ParsedBody } from '@zt/contracts';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { CurrentUser } from '../auth/current-user.decorator';
import { type Profile, MeService } from './me.service';
import { SessionsService } from './sessions.service';

/** The signed-in user (every route needs a user access token: global guard). */
@Controller('me')
export class MeController {
  constructor(
    private readonly me: MeService,
    private readonly sessions: SessionsService,
  ) {}

  @Get()
  profile(@CurrentUser() user: AuthenticatedUser): Promise<Profile> {
    return this.me.profile(user);
  }

  /** Ends this session: the token it came with is refused from now on, on every backend. */
  @Post('logout')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiResponse({ status: 204, description: 'Signed out: this token is refused from now on' })
  @ApiResponse({ status: 503, description: '{"error":"auth unavailable"}: nothing changed' })
  logout(@CurrentUser() user: AuthenticatedUser): Promise<void> {
    return this.sessions.logout(user);
  }

  /** Changes the password; every session of the user ends (sign in again). */
  @Post('password')
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
  @ApiResponse({ status: 204, description: 'Changed; every token of the user is refused' })
  @ApiResponse({ status: 400, description: 'Invalid body or a new password under 12 characters' })
  @ApiResponse({
    status: 403,
    description: '{"error":"invalid credentials"}: wrong current password',
  })
  @ApiResponse({ status: 429, description: 'Too many failed attempts' })
  changePassword(
    @CurrentUser() user: AuthenticatedUser,
    // The auth server's own rules, from its contract: a bad body never leaves the backend.
    @Body(new ZodBodyPipe(authApi.changePassword.body))
    body: ParsedBody<typeof authApi.changePassword>,
  ): Promise<void> {
    return this.sessions.changePassword(user, body);
  }
}
