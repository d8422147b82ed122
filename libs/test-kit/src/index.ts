export * from './lib/route-inventory';
export * from './lib/config/test-environment';
export * from './lib/http-client';
export * from './lib/metrics';
export * from './lib/raw-http';
export * from './lib/readme-excerpts';
export * from './lib/scripted-server';
export * from './lib/secrets';
export * from './lib/service-identity-stack';
export * from './lib/service-process';
export * from './lib/stack-credentials';
export * from './lib/tcp-proxy';
export * from './lib/test-databases';
export * from './lib/users';
// Moved to the stack launcher; still here for the suites of one service.
export { builtServiceMain, freePort, workspaceRoot } from '@zt/stack-launcher';
