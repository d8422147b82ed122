import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module';
import { InvitesController } from './invites.controller';

/** `POST /invites` (internal): single-use invites of a tier. */
@Module({ imports: [UsersModule], controllers: [InvitesController] })
export class InvitesModule {}
