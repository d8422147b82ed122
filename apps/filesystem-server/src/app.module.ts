import { type DynamicModule, Module } from '@nestjs/common';
import {
  type HealthCheck,
  HEALTH_CHECKS,
  HealthController,
  InternalAuthModule,
  ServiceHttpModule,
} from '@zt/service-utils';
import type { FilesystemConfig } from './config/filesystem.config';
import { FilesModule } from './files/files.module';
import { FilesService } from './files/files.service';

/** The filesystem server: every route internal (guarded) except `GET /health`. */
@Module({})
export class AppModule {
  static forRoot(config: FilesystemConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        InternalAuthModule.forRoot(config.internalAuth),
        ServiceHttpModule.forRoot({ maxJsonBodyBytes: config.service.maxJsonBodyBytes }),
        FilesModule.forRoot({
          dataDir: config.service.dataDir,
          maxFileBytes: config.maxFileBytes,
          maxUserBytes: config.maxUserBytes,
        }),
      ],
      controllers: [HealthController],
      providers: [
        {
          provide: HEALTH_CHECKS,
          inject: [FilesService],
          useFactory: (files: FilesService): HealthCheck[] => [
            { name: 'data_folder', check: () => files.checkWritable() },
          ],
        },
      ],
    };
  }
}
