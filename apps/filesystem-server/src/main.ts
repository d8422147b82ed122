import { runService } from '@zt/service-chassis';
import { AppModule, FILESYSTEM_OPENAPI } from './app.module';
import { loadFilesystemConfigModule } from './config/filesystem.config';

void runService(async () => {
  const { config, configModule } = await loadFilesystemConfigModule();
  return {
    service: config.service,
    module: AppModule.forRoot(config, { configModule }),
    openApi: FILESYSTEM_OPENAPI,
  };
});
