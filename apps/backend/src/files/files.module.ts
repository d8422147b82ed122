import { type DynamicModule, Module } from '@nestjs/common';
import { UpstreamsModule } from '../upstreams/upstreams.module';
import { FILES_OPTIONS, type FilesOptions } from './files.constants';
import { FilesController } from './files.controller';
import { FilesService } from './files.service';
import { MeteredWriteService } from './metered-write.service';
import { PendingWritesResolver } from './pending-writes.resolver';
import { PerUserConcurrencyInterceptor } from './per-user-concurrency.interceptor';
import { UploadBudget } from './upload-budget';
import { WriteSettlement } from './write-settlement';

/** The signed-in user's files, and the metered write. */
@Module({})
export class FilesModule {
  static forRoot(options: FilesOptions): DynamicModule {
    return {
      module: FilesModule,
      imports: [UpstreamsModule],
      controllers: [FilesController],
      providers: [
        { provide: FILES_OPTIONS, useValue: options },
        FilesService,
        MeteredWriteService,
        PendingWritesResolver,
        PerUserConcurrencyInterceptor,
        UploadBudget,
        WriteSettlement,
      ],
    };
  }
}
