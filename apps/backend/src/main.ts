import { runService } from '@zt/service-chassis';
import { AppModule, BACKEND_OPENAPI } from './app.module';
import { loadBackendConfigFromProcess } from './config/backend.config';

void runService(() => {
  const config = loadBackendConfigFromProcess();
  return { service: config.service, module: AppModule.forRoot(config), openApi: BACKEND_OPENAPI };
});
