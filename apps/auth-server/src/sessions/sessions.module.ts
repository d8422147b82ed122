import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module';
import { RevocationPurge } from './revocation-purge';
import { SessionsController } from './sessions.controller';

/** Ending sessions (internal): password changes, revocations and their feed. */
@Module({ imports: [UsersModule], controllers: [SessionsController], providers: [RevocationPurge] })
export class SessionsModule {}
