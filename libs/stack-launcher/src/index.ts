export { freePort } from './lib/free-port';
export {
  LaunchedProcess,
  type OutputLine,
  type ProcessExit,
  type ProcessOptions,
  readLogTail,
  type ServiceProcess,
  startProcess,
  type StopResult,
} from './lib/launched-process';
export { launchStack, ServiceStack, type StackOptions, startWaves } from './lib/service-stack';
export {
  type ConsoleFormat,
  consoleFormatFor,
  StackConsole,
  type StackConsoleOptions,
} from './lib/stack-console';
export {
  addressesFromEnvironment,
  definedOnly,
  type Environment,
  inheritedEnvironment,
  localUrl,
  SERVICE_NAMES,
  type ServiceName,
  serviceEnvironment,
  STACK_SERVICES,
  type StackService,
  stackService,
} from './lib/stack-services';
export { READY_PATH, type ServiceOptions, spawnService, startService } from './lib/start-service';
export { builtServiceMain, workspaceRoot } from './lib/workspace';
