// The guard fixture of `npm run bench` (group "guard"): see guard/guard-server.module.ts.
import { runService } from '@zt/service-chassis';
import { loadGuardServerConfigFromProcess } from './config/guard-server.config';
import { GuardServerModule } from './guard/guard-server.module';

void runService(() => {
  const config = loadGuardServerConfigFromProcess();
  return { service: config.service, module: GuardServerModule.forRoot(config) };
}).then((app) => {
  // runService logs where it listens at level info; say it here too, so that the runner finds
  // it when the fixture runs with LOG_LEVEL=warn (the request-logging comparison).
  const address = app?.getHttpServer().address() as { port: number } | undefined;
  if (address)
    process.stdout.write(`bench-guard-server listening on http://127.0.0.1:${address.port}\n`);
});
