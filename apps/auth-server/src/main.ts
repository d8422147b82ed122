import { runService } from '@zt/service-chassis';
import { AppModule, AUTH_OPENAPI } from './app.module';
import { loadAuthConfigFromProcess } from './config/auth.config';

void runService(() => {
  const config = loadAuthConfigFromProcess();
  return {
    service: config.service,
    module: AppModule.forRoot(config),
    openApi: AUTH_OPENAPI,
    // The document needs the routes only: an in-memory database, no DATABASE_URL touched.
    documentModule: () => AppModule.forRoot({ ...config, databaseUrl: undefined }, null),
  };
});
