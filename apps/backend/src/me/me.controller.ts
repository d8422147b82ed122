import { Controller, Get } from '@nestjs/common';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { CurrentUser } from '../auth/current-user.decorator';
import { type Profile, MeService } from './me.service';

/** `GET /me` (needs a user access token: global guard). */
@Controller('me')
export class MeController {
  constructor(private readonly me: MeService) {}

  @Get()
  profile(@CurrentUser() user: AuthenticatedUser): Promise<Profile> {
    return this.me.profile(user);
  }
}
