import { runService } from '@zt/service-utils';
import { AppModule } from './app.module';
import { loadBackendConfigFromProcess } from './config/backend.config';

void runService(() => {
  const config = loadBackendConfigFromProcess();
  return { service: config.service, module: AppModule.forRoot(config) };
});
