import { runService } from '@zt/service-chassis';
import { AppModule, AUTH_OPENAPI } from './app.module';
import { loadAuthConfigModule } from './config/auth.config';

void runService(async () => {
  const { config, configModule } = await loadAuthConfigModule();
  return {
    service: config.service,
    module: AppModule.forRoot(config, { configModule }),
    openApi: AUTH_OPENAPI,
    // The document needs the routes only: an in-memory database, no DATABASE_URL touched.
    documentModule: () =>
      AppModule.forRoot(
        { ...config, databaseUrl: undefined },
        { configModule, embeddedDirectory: null },
      ),
  };
});
