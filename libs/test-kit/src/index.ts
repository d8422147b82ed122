export * from './lib/route-inventory';
export * from './lib/config/test-environment';
export * from './lib/free-port';
export * from './lib/http-client';
export * from './lib/secrets';
export * from './lib/service-process';
export * from './lib/test-databases';
export * from './lib/workspace';
