import { type DynamicModule, Module } from '@nestjs/common';
import { InternalAuthModule, UserProofModule } from '@zt/service-utils';
import {
  type HealthCheck,
  HEALTH_CHECKS,
  HealthController,
  HealthModule,
  LoggingModule,
  MetricsModule,
  RateLimitModule,
  type OpenApiOptions,
  ServiceHttpModule,
} from '@zt/service-chassis';
import type { FilesystemConfig } from './config/filesystem.config';
import { FilesModule } from './files/files.module';
import { FilesService } from './files/files.service';

/** How the filesystem server describes its API (docs/api/filesystem-server.json); it serves no docs. */
export const FILESYSTEM_OPENAPI: OpenApiOptions = {
  title: 'filesystem-server',
  description:
    'Per-user file storage for the user an internal call names in X-User-ID. Internal: every ' +
    'route but health needs X-INTERNAL-TOKEN.',
  auth: 'internal-token',
};

/** The filesystem server: every route internal (guarded) except health. */
@Module({})
export class AppModule {
  /**
   * @param config the validated configuration
   * @param options.configModule the `ConfigModule` it was loaded through (`main.ts`), which
   *   makes it injectable; tests that build `config` from a record leave it out.
   */
  static forRoot(
    config: FilesystemConfig,
    { configModule }: { configModule?: DynamicModule } = {},
  ): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ...(configModule ? [configModule] : []),
        LoggingModule.forRoot({ service: config.service }),
        MetricsModule.forRoot({ serviceName: config.service.name }),
        RateLimitModule.forRoot({
          serviceName: config.service.name,
          config: config.service.rateLimit,
        }),
        HealthModule,
        InternalAuthModule.forRoot(config.internalAuth),
        UserProofModule.forRoot(config.userProof),
        ServiceHttpModule.forRoot({ maxJsonBodyBytes: config.service.maxJsonBodyBytes }),
        FilesModule.forRoot({
          dataDir: config.service.dataDir,
          maxFileBytes: config.maxFileBytes,
          maxUserBytes: config.maxUserBytes,
          maxUserEntries: config.maxUserEntries,
          maxPathDepth: config.maxPathDepth,
          writeJournalDays: config.writeJournalDays,
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
