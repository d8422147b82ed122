import { Module } from '@nestjs/common';
import { UpstreamsModule } from '../upstreams/upstreams.module';
import { MeController } from './me.controller';
import { MeService } from './me.service';
import { SessionsService } from './sessions.service';

/** The signed-in user: profile, logout, password change. */
@Module({
  imports: [UpstreamsModule],
  controllers: [MeController],
  providers: [MeService, SessionsService],
})
export class MeModule {}
