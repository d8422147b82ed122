import { Module } from '@nestjs/common';
import { BillingModule } from '../billing/billing.module';
import { FailedLoginThrottle } from './failed-login-throttle';
import { PasswordHasher } from './password-hasher';
import { UsersController } from './users.controller';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

/** Users: registration (which opens the billing account), login, passwords and invites. */
@Module({
  imports: [BillingModule],
  controllers: [UsersController],
  providers: [UsersRepository, UsersService, PasswordHasher, FailedLoginThrottle],
  exports: [UsersService, UsersRepository],
})
export class UsersModule {}
