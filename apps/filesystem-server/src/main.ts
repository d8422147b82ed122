import { runService } from '@zt/service-chassis';
import { AppModule, FILESYSTEM_OPENAPI } from './app.module';
import { loadFilesystemConfigFromProcess } from './config/filesystem.config';

void runService(() => {
  const config = loadFilesystemConfigFromProcess();
  return {
    service: config.service,
    module: AppModule.forRoot(config),
    openApi: FILESYSTEM_OPENAPI,
  };
});
