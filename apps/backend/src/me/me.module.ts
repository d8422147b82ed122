import { Module } from '@nestjs/common';
import { UpstreamsModule } from '../upstreams/upstreams.module';
import { MeController } from './me.controller';
import { MeService } from './me.service';

/** The signed-in user's profile. */
@Module({
  imports: [UpstreamsModule],
  controllers: [MeController],
  providers: [MeService],
})
export class MeModule {}
