import { runService } from '@zt/service-chassis';
import { AppModule, BILLING_OPENAPI } from './app.module';
import { loadBillingConfigFromProcess } from './config/billing.config';

void runService(() => {
  const config = loadBillingConfigFromProcess();
  return {
    service: config.service,
    module: AppModule.forRoot(config),
    openApi: BILLING_OPENAPI,
    // The document needs the routes only: an in-memory database, no DATABASE_URL touched.
    documentModule: () => AppModule.forRoot({ ...config, databaseUrl: undefined }, null),
  };
});
