import { runService } from '@zt/service-utils';
import { AppModule } from './app.module';
import { loadBillingConfigFromProcess } from './config/billing.config';

void runService(() => {
  const config = loadBillingConfigFromProcess();
  return { service: config.service, module: AppModule.forRoot(config) };
});
