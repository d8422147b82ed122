import { Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { Public } from '@zt/service-utils';
import { authApi, type ParsedBody } from '@zt/contracts';
import { ApiEndpoint, JsonBody } from '@zt/service-chassis';
import { UsersService } from './users.service';

/** The public door: registration with an invite, and login. */
@Controller()
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Public()
  @Post('register')
  @ApiEndpoint(authApi.register)
  register(@JsonBody(authApi.register.body) body: ParsedBody<typeof authApi.register>) {
    return this.users.register(body);
  }

  @Public()
  @Post('login')
  @ApiEndpoint(authApi.login)
  @HttpCode(HttpStatus.OK)
  login(@JsonBody(authApi.login.body) body: ParsedBody<typeof authApi.login>) {
    return this.users.login(body);
  }
}
