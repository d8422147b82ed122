import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { Public, ZodBodyPipe } from '@zt/service-utils';
import {
  loginSchema,
  type LoginRequest,
  registerSchema,
  type RegisterRequest,
} from './dto/auth.schemas';
import { UsersService } from './users.service';

/** The public door: registration with an invite, and login. */
@Controller()
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Public()
  @Post('register')
  register(@Body(new ZodBodyPipe(registerSchema)) body: RegisterRequest) {
    return this.users.register(body);
  }

  @Public()
  @Post('login')
  @HttpCode(HttpStatus.OK)
  login(@Body(new ZodBodyPipe(loginSchema)) body: LoginRequest) {
    return this.users.login(body);
  }
}
