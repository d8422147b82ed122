import { runService } from '@zt/service-chassis';
import { AppModule, BILLING_OPENAPI } from './app.module';
import { loadBillingConfigModule } from './config/billing.config';

void runService(async () => {
  const { config, configModule } = await loadBillingConfigModule();
  return {
    service: config.service,
    module: AppModule.forRoot(config, { configModule }),
    openApi: BILLING_OPENAPI,
    // The document needs the routes only: an in-memory database, no DATABASE_URL touched.
    documentModule: () =>
      AppModule.forRoot(
        { ...config, databaseUrl: undefined },
        { configModule, embeddedDirectory: null },
      ),
  };
});
