import { runService } from '@zt/service-chassis';
import { AppModule } from './app.module';
import { loadReportsConfigFromProcess } from './config/reports.config';

// A configuration error is one line naming the variable, and exit code 1; otherwise the
// service logs `listening on <url>` and closes its resources on SIGTERM.
void runService(() => {
  const config = loadReportsConfigFromProcess();
  return { service: config.service, module: AppModule.forRoot(config) };
});
