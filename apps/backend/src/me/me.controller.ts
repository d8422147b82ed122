import { Controller, Get, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { backendApi, type ParsedBody } from '@zt/contracts';
import { ApiEndpoint, JsonBody } from '@zt/service-chassis';
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
  @ApiEndpoint(backendApi.profile)
  profile(@CurrentUser() user: AuthenticatedUser): Promise<Profile> {
    return this.me.profile(user);
  }

  /** Ends this session: the token it came with is refused from now on, on every backend. */
  @Post('logout')
  @ApiEndpoint(backendApi.logout)
  @HttpCode(HttpStatus.NO_CONTENT)
  logout(@CurrentUser() user: AuthenticatedUser): Promise<void> {
    return this.sessions.logout(user);
  }

  /** Changes the password; every session of the user ends (sign in again). */
  @Post('password')
  @ApiEndpoint(backendApi.changeOwnPassword)
  @HttpCode(HttpStatus.NO_CONTENT)
  changePassword(
    @CurrentUser() user: AuthenticatedUser,
    // The auth server's own rules, from its contract: a bad body never leaves the backend.
    @JsonBody(backendApi.changeOwnPassword.body)
    body: ParsedBody<typeof backendApi.changeOwnPassword>,
  ): Promise<void> {
    return this.sessions.changePassword(user, body);
  }
}
