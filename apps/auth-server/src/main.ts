import { runService } from '@zt/service-utils';
import { AppModule } from './app.module';
import { loadAuthConfigFromProcess } from './config/auth.config';

void runService(() => {
  const config = loadAuthConfigFromProcess();
  return { service: config.service, module: AppModule.forRoot(config) };
});
