import { runService } from '@zt/service-chassis';
import { AppModule, BACKEND_OPENAPI } from './app.module';
import { loadBackendConfigModule } from './config/backend.config';

void runService(async () => {
  const { config, configModule } = await loadBackendConfigModule();
  return {
    service: config.service,
    module: AppModule.forRoot(config, { configModule }),
    openApi: BACKEND_OPENAPI,
  };
});
