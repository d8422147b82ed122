import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiBody, ApiResponse } from '@nestjs/swagger';
import { Public } from '@zt/service-utils';
import { ZodBodyPipe } from '@zt/service-chassis';
import { LOGIN_ANSWER, LOGIN_BODY, REGISTER_BODY } from './dto/auth.openapi';
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
  @ApiBody({ schema: REGISTER_BODY })
  @ApiResponse({ status: 201, description: '{"user_id","email","tier"}' })
  @ApiResponse({ status: 400, description: 'Invalid body or a password under 12 characters' })
  @ApiResponse({ status: 403, description: '{"error":"invalid invite"}: unknown or used code' })
  @ApiResponse({ status: 409, description: 'The email is taken' })
  @ApiResponse({ status: 503, description: '{"error":"billing unavailable"}: nothing was kept' })
  register(@Body(new ZodBodyPipe(registerSchema)) body: RegisterRequest) {
    return this.users.register(body);
  }

  @Public()
  @Post('login')
  @HttpCode(HttpStatus.OK)
  @ApiBody({ schema: LOGIN_BODY })
  @ApiResponse({ status: 200, description: 'An access token', schema: LOGIN_ANSWER })
  @ApiResponse({ status: 401, description: '{"error":"invalid credentials"}' })
  login(@Body(new ZodBodyPipe(loginSchema)) body: LoginRequest) {
    return this.users.login(body);
  }
}
