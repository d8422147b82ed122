export * from './lib/database-health.provider';
export * from './lib/database';
export * from './lib/database-unavailable.error';
export * from './lib/database.module';
export * from './lib/migrations';
export * from './lib/open-database';
export * from './lib/pg-database';
export * from './lib/pglite-database';
