import { type DynamicModule, Module } from '@nestjs/common';
import { FILES_OPTIONS, type FilesOptions } from './files.constants';
import { FilesController } from './files.controller';
import { FilesService } from './files.service';
import { WritesController } from './writes.controller';

/**
 * Per-user file storage: `PUT`, `GET`, `DELETE /files/*path` and `GET /files`; the write
 * journal: `POST /writes/:write_id/resolve` and `GET /writes`.
 */
@Module({})
export class FilesModule {
  static forRoot(options: FilesOptions): DynamicModule {
    return {
      module: FilesModule,
      controllers: [FilesController, WritesController],
      providers: [FilesService, { provide: FILES_OPTIONS, useValue: options }],
      exports: [FilesService],
    };
  }
}
